#!/bin/sh
# The session start script both desktops share: says which desktop and which Zed it carries.
echo "helix desktop: $(cat /etc/helix/desktop), $(cat /etc/helix/zed-version)"
