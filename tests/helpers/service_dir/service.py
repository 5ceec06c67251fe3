"""A script run under the agent from elsewhere: imports a module beside it, echoes its argv, exits
with the code given as its first argument."""

import sys

import sibling

print(sibling.GREETING, *sys.argv[1:], flush=True)
sys.exit(int(sys.argv[1]))
