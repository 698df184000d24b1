#!/bin/sh
# Installs Plateau as a systemd service on a Debian-like system, or removes it again.
#
#   systemd/install.sh --config vehicle       install; device-config/vehicle.yaml becomes /etc/plateau/plateau.yaml
#   systemd/install.sh                        upgrade: jar, models and unit; an existing config is kept
#   systemd/install.sh --uninstall            remove everything but the state in /var/lib/plateau
#   systemd/install.sh --uninstall --purge    remove the state too
#
# Options:
#   --config NAME|FILE  a device-config/ name (vehicle, roadside, bridge-sensor, demo) or a YAML file;
#                       used only when /etc/plateau/plateau.yaml does not exist yet
#   --prefix DIR        install under DIR/lib/plateau (default /usr); the unit is rewritten to match
#   --jar FILE          the jar to install (default target/plateau.jar: run `mvn -B package` first)
# Environment:
#   DESTDIR=DIR         stage every file under DIR and leave the running system alone: no user is
#                       created, systemctl is not called, root is not required.
#   PLATEAU_JAVA=FILE   the java that unpacks ONNX Runtime's libraries and writes the class-data
#                       archive (default /usr/bin/java, the unit's)
#
# Safe to run again: files are replaced, an existing configuration is never overwritten.
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
prefix=/usr
config=
jar=$repo/target/plateau.jar
action=install
purge=no

die() {
    echo "install.sh: $*" >&2
    exit 1
}

while [ $# -gt 0 ]; do
    case $1 in
        --config) [ $# -ge 2 ] || die "--config needs a value"; config=$2; shift 2 ;;
        --prefix) [ $# -ge 2 ] || die "--prefix needs a value"; prefix=$2; shift 2 ;;
        --jar) [ $# -ge 2 ] || die "--jar needs a value"; jar=$2; shift 2 ;;
        --uninstall) action=uninstall; shift ;;
        --purge) purge=yes; shift ;;
        -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done
case $prefix in
    /*) prefix=${prefix%/} ;;
    *) die "--prefix must be an absolute path, found '$prefix'" ;;
esac
[ "$purge" = no ] || [ "$action" = uninstall ] || die "--purge goes with --uninstall"

destdir=${DESTDIR:-}
lib=$destdir$prefix/lib/plateau
unit=$destdir/etc/systemd/system/plateau.service
sysusers=$destdir$prefix/lib/sysusers.d/plateau.conf
etc=$destdir/etc/plateau
state=$destdir/var/lib/plateau
cache=$destdir/var/cache/plateau
logs=$destdir/var/log/plateau

# Only a real install touches the running system.
live=no
if [ -z "$destdir" ]; then
    [ "$(id -u)" -eq 0 ] || die "run as root, or set DESTDIR to stage the files elsewhere"
    live=yes
fi

examples() {
    for f in "$repo"/device-config/*.yaml; do basename "$f" .yaml; done | tr '\n' ' '
}

install_files() {
    [ -f "$jar" ] || die "no jar at $jar: build it with 'mvn -B package' or give --jar FILE"
    if [ -n "$config" ]; then
        if [ -f "$config" ]; then
            source_config=$config
        elif [ -f "$repo/device-config/$config.yaml" ]; then
            source_config=$repo/device-config/$config.yaml
        else
            die "no configuration '$config': expected a file or one of: $(examples)"
        fi
    elif [ ! -f "$etc/plateau.yaml" ]; then
        die "no configuration yet: give --config NAME, one of: $(examples)"
    fi

    install -d -m 0755 "$lib" "$etc" "$(dirname "$unit")" "$(dirname "$sysusers")"
    # New files beside the old, then renamed: a running daemon keeps the files it has open.
    install -m 0644 "$jar" "$lib/plateau.jar.new"
    mv -f "$lib/plateau.jar.new" "$lib/plateau.jar"
    rm -rf "$lib/models.new" "$lib/models.old"
    mkdir "$lib/models.new"
    for manifest in "$repo"/models/*/manifest.yaml; do
        [ -f "$manifest" ] || continue
        cp -R "$(dirname "$manifest")" "$lib/models.new/"
    done
    chmod -R u=rwX,go=rX "$lib/models.new"
    if [ -d "$lib/models" ]; then
        mv "$lib/models" "$lib/models.old"
    fi
    mv "$lib/models.new" "$lib/models"
    rm -rf "$lib/models.old" "$lib/device-config"
    cp -R "$repo/device-config" "$lib/device-config"
    chmod -R u=rwX,go=rX "$lib/device-config"
    install -m 0644 "$repo/README.md" "$lib/README.md"

    sed "s#/usr/lib/plateau#$prefix/lib/plateau#g" "$repo/systemd/plateau.service" > "$unit.new"
    chmod 0644 "$unit.new"
    mv -f "$unit.new" "$unit"
    echo 'u plateau - "Plateau edge ML runtime" /var/lib/plateau' > "$sysusers"
    chmod 0644 "$sysusers"

    start_cache

    if [ -f "$etc/plateau.yaml" ]; then
        echo "kept $etc/plateau.yaml"
    else
        install -m 0640 "$source_config" "$etc/plateau.yaml"
        echo "installed $etc/plateau.yaml from $source_config"
    fi

    if [ "$live" = yes ]; then
        if command -v systemd-sysusers >/dev/null 2>&1; then
            systemd-sysusers "$sysusers"
        elif ! getent passwd plateau >/dev/null; then
            useradd --system --user-group --home-dir /var/lib/plateau --shell /usr/sbin/nologin plateau
        fi
        chgrp plateau "$etc/plateau.yaml"
        if [ -x /usr/bin/java ]; then
            # A JDK older than 17.0.11 refuses the unit's native-heap trimming and would not start.
            /usr/bin/java -XX:TrimNativeHeapInterval=5000 -version >/dev/null 2>&1 \
                || echo "warning: /usr/bin/java does not know -XX:TrimNativeHeapInterval (JDK 17.0.11 or newer does): the service cannot start until it is upgraded" >&2
            # As the unit runs it: from the install directory, where models/ is.
            (cd "$lib" && /usr/bin/java -jar plateau.jar config check -c "$etc/plateau.yaml") \
                || echo "warning: $etc/plateau.yaml needs fixing before the service can start" >&2
        else
            echo "warning: the unit runs /usr/bin/java: apt-get install openjdk-17-jre-headless" >&2
        fi
        systemctl daemon-reload
        if systemctl is-active --quiet plateau; then
            echo "plateau is running the previous version: systemctl restart plateau"
        else
            echo "next: systemctl enable --now plateau; journalctl -u plateau -f"
        fi
    fi
    echo "installed into $lib"
}

# What each start would do again, done once (README: Footprint and start): ONNX Runtime's
# libraries unpacked into native/, and a class-data archive (AppCDS) written by a 5-second run of
# the demo configuration on the installed jar and models, in a scratch directory. The archive
# names the jar's path, so a staged install (DESTDIR) gets the libraries only. Neither is needed:
# without them the daemon starts as before, only slower; so a failure here is a warning.
start_cache() {
    java_bin=${PLATEAU_JAVA:-/usr/bin/java}
    rm -f "$lib/plateau.jsa"
    if [ ! -x "$java_bin" ]; then
        echo "warning: no $java_bin to unpack ONNX Runtime's libraries and write the class-data archive" >&2
        return 0
    fi
    if [ "$live" = no ]; then
        "$java_bin" -cp "$lib/plateau.jar" dev.plateau.daemon.StartCache "$lib/native" \
            || echo "warning: ONNX Runtime's libraries could not be unpacked into $lib/native: the daemon unpacks them on each start" >&2
        return 0
    fi
    scratch=$(mktemp -d)
    ln -s "$lib/models" "$scratch/models"
    if (cd "$scratch" && "$java_bin" -cp "$lib/plateau.jar" dev.plateau.daemon.StartCache "$lib/native" \
            "$lib/plateau.jsa" "$lib/device-config/demo.yaml" >"$scratch/log" 2>&1); then
        tail -n 2 "$scratch/log"
    else
        tail -n 20 "$scratch/log" >&2
        echo "warning: the start cache was not made (above): the daemon starts without it, slower" >&2
    fi
    rm -rf "$scratch"
}

uninstall_files() {
    if [ "$live" = yes ] && [ -f "$unit" ]; then
        systemctl disable --now plateau || true
    fi
    rm -f "$unit" "$sysusers"
    rm -rf "$lib" "$etc" "$cache" "$logs"
    if [ "$purge" = yes ]; then
        rm -rf "$state"
        echo "removed Plateau and its state"
    else
        echo "removed Plateau; state kept in $state (--purge removes it)"
    fi
    if [ "$live" = yes ]; then
        systemctl daemon-reload
        if getent passwd plateau >/dev/null; then
            echo "the system user 'plateau' is kept (files may still belong to it): userdel plateau removes it"
        fi
    fi
}

if [ "$action" = install ]; then
    install_files
else
    uninstall_files
fi
