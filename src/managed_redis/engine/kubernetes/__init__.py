"""The Kubernetes engine: each cluster's Redis hosts as pods, behind the same ``Engine`` protocol.

The layout (``manifests.py`` renders every object as a plain dict):

- a namespace per cluster (``mredis-<cluster id>``), or one configured namespace for all;
- per shard a StatefulSet whose pods run ``redis-server`` (and, on a non-sharded cluster, a
  ``redis-sentinel`` sidecar), a headless Service, a PodDisruptionBudget, and, with TLS, a
  Secret of the hosts' certificates; data on a PersistentVolumeClaim per pod;
- per host a Service whose ClusterIP *is* the host's address (its name in the API): the
  control plane allocates host addresses from ``host_network``, which on Kubernetes is a
  slice of the cluster's Service CIDR, and Redis, Sentinel and Redis Cluster announce it;
- per cluster a Service for clients and a Secret with the customer's password.

Which host is which pod: the host's Service selects ``<statefulset>-<ordinal>`` and keeps the
ordinal in an annotation; a new host takes the next ordinal. A pod's container runs a small
shell loop (``pod_files.py``) that starts Redis only when the engine leaves a start token,
and never restarts it by itself: as with local processes, a Redis that died stays down until
the supervisor decides how it comes back.

Modules: ``names`` (object names, labels), ``options`` (the settings this engine reads),
``pod_files`` (config files and shell commands inside a pod), ``manifests`` (objects),
``api`` (the ``KubeApi`` the engine speaks, on the official ``kubernetes`` client),
``engine`` (``KubernetesEngine``).
"""
