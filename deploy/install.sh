#!/bin/sh
# Production install of maildesk from this checkout, as root. Safe to run again: it
# upgrades the package and the database and keeps an existing config and env file.
#
#   sudo deploy/install.sh
#
# What it makes (the paths deploy/maildesk.service expects):
#   user and group  maildesk (system user, no login, home /var/lib/maildesk)
#   /opt/maildesk/.venv            the package, installed from the checkout
#   /etc/maildesk/maildesk.toml    from `maildesk init`, database and data under
#                                  /var/lib/maildesk; root:maildesk, mode 0640
#   /etc/maildesk/env              secrets (MAILDESK_IMAP_PASSWORD=…); root, mode 0600
#   /var/lib/maildesk              database, attachments, outbox; maildesk, mode 0700
#   /etc/systemd/system/maildesk.service, maildesk@.service, maildesk.target
#                                  (maildesk.service enabled when systemd runs)
#
# The locations can be changed through the environment: PREFIX, CONFIG_DIR, STATE_DIR,
# MAILDESK_USER, SYSTEMD_DIR, PYTHON (the interpreter of the venv), and SYSTEMCTL
# (empty: do not call systemctl).
set -eu

if [ "$(id -u)" != 0 ]; then
    echo "install.sh: run it as root (it creates the service's user and its folders)" >&2
    exit 1
fi

SRC=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=${PREFIX:-/opt/maildesk}
CONFIG_DIR=${CONFIG_DIR:-/etc/maildesk}
STATE_DIR=${STATE_DIR:-/var/lib/maildesk}
MAILDESK_USER=${MAILDESK_USER:-maildesk}
SYSTEMD_DIR=${SYSTEMD_DIR:-/etc/systemd/system}
PYTHON=${PYTHON:-python3}
SYSTEMCTL=${SYSTEMCTL-systemctl}

VENV=$PREFIX/.venv
CONFIG=$CONFIG_DIR/maildesk.toml

step() { echo "install.sh: $*"; }

# The user the service runs as: a system account that cannot log in.
if ! getent passwd "$MAILDESK_USER" >/dev/null; then
    step "creating system user $MAILDESK_USER"
    useradd --system --user-group --home-dir "$STATE_DIR" --no-create-home \
        --shell /usr/sbin/nologin --comment "maildesk help desk" "$MAILDESK_USER"
fi

# Folders: the code is world-readable, the config readable by the service's group,
# the state (database, attachments, secret) by the service alone.
install -d -m 0755 "$PREFIX"
install -d -o root -g "$MAILDESK_USER" -m 0750 "$CONFIG_DIR"
install -d -o "$MAILDESK_USER" -g "$MAILDESK_USER" -m 0700 "$STATE_DIR"

if [ ! -x "$VENV/bin/python" ]; then
    step "creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
step "installing maildesk from $SRC into $VENV"
# A copy of the checkout, so the build leaves nothing behind in it.
BUILD=$(mktemp -d)
trap 'rm -rf "$BUILD"' EXIT
(cd "$SRC" && tar --exclude=./.venv --exclude=./.git --exclude=./build -cf - .) | tar -xf - -C "$BUILD"
"$VENV/bin/python" -m pip install --quiet --upgrade "$BUILD"

if [ ! -f "$CONFIG" ]; then
    step "writing $CONFIG"
    "$VENV/bin/maildesk" init "$CONFIG_DIR" --data-dir "$STATE_DIR"
else
    step "keeping $CONFIG"
fi
chown root:"$MAILDESK_USER" "$CONFIG"
chmod 0640 "$CONFIG"

if [ ! -f "$CONFIG_DIR/env" ]; then
    step "writing $CONFIG_DIR/env"
    (umask 077 && cat >"$CONFIG_DIR/env" <<'EOF'
# Secrets for maildesk, read by systemd (EnvironmentFile=): one VARIABLE=value a line.
# Any configuration key can be set here as MAILDESK_<SECTION>_<KEY>.
#MAILDESK_IMAP_PASSWORD=
#MAILDESK_SMTP_PASSWORD=
EOF
    )
fi
chown root:root "$CONFIG_DIR/env"
chmod 0600 "$CONFIG_DIR/env"

# `init` ran as root: what it created in the state folder belongs to the service.
chown -R "$MAILDESK_USER:$MAILDESK_USER" "$STATE_DIR"
chmod 0700 "$STATE_DIR"

step "upgrading the database as $MAILDESK_USER"
(cd "$STATE_DIR" && runuser -u "$MAILDESK_USER" -- env MAILDESK_CONFIG="$CONFIG" \
    "$VENV/bin/maildesk" db upgrade)

step "installing the systemd units into $SYSTEMD_DIR"
install -d -m 0755 "$SYSTEMD_DIR"
for unit in maildesk.service maildesk@.service maildesk.target; do
    sed -e "s#/opt/maildesk#$PREFIX#g" \
        -e "s#/etc/maildesk#$CONFIG_DIR#g" \
        -e "s#/var/lib/maildesk#$STATE_DIR#g" \
        -e "s#^User=maildesk\$#User=$MAILDESK_USER#" \
        -e "s#^Group=maildesk\$#Group=$MAILDESK_USER#" \
        "$SRC/deploy/$unit" >"$SYSTEMD_DIR/$unit.tmp"
    chmod 0644 "$SYSTEMD_DIR/$unit.tmp"
    mv "$SYSTEMD_DIR/$unit.tmp" "$SYSTEMD_DIR/$unit"
done

if [ -n "$SYSTEMCTL" ] && [ -d /run/systemd/system ]; then
    "$SYSTEMCTL" daemon-reload
    "$SYSTEMCTL" enable maildesk.service
    step "done: edit $CONFIG and $CONFIG_DIR/env, then: systemctl restart maildesk"
else
    step "done (systemd is not running: units installed, not enabled): edit $CONFIG and $CONFIG_DIR/env"
fi
