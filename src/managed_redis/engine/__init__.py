"""The data plane: Redis processes, their addresses, and the commands that shape them."""
