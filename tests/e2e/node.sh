#!/usr/bin/env bash
# PID 1 of one e2e node: builds the node's private view of the machine, then execs a real
# systemd system manager (as kind does inside its node containers).
#
#   nsenter --net=/run/netns/NETNS unshare -m -u -p -f --mount-proc --propagation private \
#       bash tests/e2e/node.sh NAME SEED CACHE CONSOLE_LOG CGROUP_DIRS
#
# CGROUP_DIRS is a file naming the node's own cgroup in every hierarchy (run.sh made them).
# PID 1 moves itself there, then unshares the cgroup namespace, which makes those the root:
# systemd and the kubelet see and change nothing above them. PID 1 moves itself, rather than
# being started there, so that unshare (its parent, waiting outside the PID namespace) stays
# out: cgroup2 enables controllers for a cgroup's children only when it has no processes of
# its own, and systemd needs the cpu, memory and pids controllers below the root it sees.
#
# The node sees the host's /usr (read-only programs) and nothing writable of the host's:
#   /etc          overlay, upper layer on the node's tmpfs (the host's /etc stays as it is)
#   /var          overlay likewise; /var/lib, /var/tmp, /var/log are tmpfs
#   /run /tmp /opt /home /root /srv /mnt /media   tmpfs
#   /dev          tmpfs with the few device nodes a node needs, a fresh devpts, shm, mqueue
#   /sys          a fresh sysfs of the node's network namespace, read-only; cgroups below it
#                 writable (cgroup2 on a unified host; the v1 controllers, name=systemd and
#                 cgroup2 at unified on a hybrid one, as the host has them)
#   /proc/sys     the machine-wide tunables the kubelet checks are files of the node's own
#                 (see protect_kernel), so nothing can change the host's
# SEED is copied over / before systemd starts (units, config, /opt/bin/kube-bootstrap); CACHE
# (the e2e cache: the mirror, containerd, etcd, images) is bound read-only at /run/e2e/cache.
set -euo pipefail

name=$1
seed=$2
cache=$3
console=$4
cgroup_dirs=$5

say() { echo "node.sh[$name]: $*" >&2; }
fail() {
  say "$*"
  exit 1
}

[ "$$" = 1 ] || fail "must run as PID 1 of a new PID namespace (unshare -p -f --mount-proc)"
if [ -z "${E2E_NODE_CGROUP_NS:-}" ]; then
  # PID 1 as this PID namespace names it, written from inside it: this process.
  while read -r dir; do
    [ -n "$dir" ] || continue
    echo 1 >"$dir/cgroup.procs" || fail "cannot move into cgroup $dir"
  done <"$cgroup_dirs"
  # Same PID (no fork): still PID 1, now behind a cgroup namespace rooted at those cgroups.
  E2E_NODE_CGROUP_NS=1 exec unshare -C bash "$0" "$@"
fi
unset E2E_NODE_CGROUP_NS
[ "$(sed -n 's/^0:://p' /proc/self/cgroup)" = / ] || fail "not in a private cgroup namespace (unshare -C)"

libexec=/usr/lib/systemd
[ -x "$libexec/systemd" ] || libexec=/lib/systemd

# Everything below is private to this mount namespace; the host's mounts are not changed.
# The cache, the seed and the console log are held open, so they stay reachable once the
# paths they live under are covered.
mount --make-rprivate /
exec 3<"$cache" 4<"$seed" 5>>"$console"
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
stage=/run/e2e
mkdir -p "$stage/cache" "$stage/seed"
mount --bind /proc/self/fd/3 "$stage/cache"
mount -o remount,bind,ro "$stage/cache"
cp -a /proc/self/fd/4/. "$stage/seed/"
exec 3<&- 4<&-

# The node's own writable layer for /etc and /var.
layers=$stage/layers
mkdir -p "$layers"/{etc,var}/{upper,work}
mount -t overlay overlay -o "lowerdir=/etc,upperdir=$layers/etc/upper,workdir=$layers/etc/work" /etc
mount -t overlay overlay -o "lowerdir=/var,upperdir=$layers/var/upper,workdir=$layers/var/work" /var
# containerd's overlay snapshotter needs an upper layer that is not itself overlayfs: tmpfs.
for dir in /var/lib /var/tmp /var/log /tmp /opt /home /root /srv /mnt /media; do
  [ -d "$dir" ] || continue
  mount -t tmpfs -o mode=0755 tmpfs "$dir"
done
chmod 1777 /tmp /var/tmp

# /dev: only what a node needs, never the host's devtmpfs (systemd and udev would act on it).
olddev=$stage/olddev
mkdir -p "$olddev"
mount --bind /dev "$olddev"
mount -t tmpfs -o mode=0755,nosuid tmpfs /dev
for node in null zero full random urandom tty kmsg; do
  touch "/dev/$node"
  mount --bind "$olddev/$node" "/dev/$node"
done
mkdir -p /dev/net /dev/pts /dev/shm /dev/mqueue
touch /dev/net/tun && mount --bind "$olddev/net/tun" /dev/net/tun
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620 devpts /dev/pts
ln -s pts/ptmx /dev/ptmx
mount -t tmpfs -o mode=1777,nosuid,nodev tmpfs /dev/shm
mount -t mqueue mqueue /dev/mqueue
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
# systemd writes its status to /dev/console: the node's console log.
touch /dev/console
mount --bind /proc/self/fd/5 /dev/console
exec 5>&-
umount "$olddev"
rmdir "$olddev"

# A sysfs of this network namespace, read-only: sysfs writes are machine-wide.
hybrid=
if [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ]; then hybrid=1; fi
v1_mounts=$(awk '$9 == "cgroup" { print $5 " " $NF }' /proc/self/mountinfo)
mount -t sysfs -o ro,nosuid,nodev,noexec sysfs /sys
if [ -z "$hybrid" ]; then
  mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 /sys/fs/cgroup
else
  mount -t tmpfs -o mode=0755,nosuid,nodev,noexec tmpfs /sys/fs/cgroup
  while read -r point options; do
    # The option that names the hierarchy: a controller list or name=systemd.
    opts=$(tr , '\n' <<<"$options" | grep -vE '^(rw|ro|relatime|nosuid|nodev|noexec)$' | paste -sd,)
    dir=/sys/fs/cgroup/${point##*/}
    mkdir -p "$dir"
    case $opts in name=*) opts="none,$opts" ;; esac
    mount -t cgroup -o "nosuid,nodev,noexec,$opts" cgroup "$dir"
  done <<<"$v1_mounts"
  mkdir -p /sys/fs/cgroup/unified
  mount -t cgroup2 -o nosuid,nodev,noexec cgroup2 /sys/fs/cgroup/unified
    # Co-mounted controllers are also reached by each name, as on a host (cpu -> cpu,cpuacct).
    if [[ ${point##*/} == *,* ]]; then
      IFS=, read -ra parts <<<"${point##*/}"
      for part in "${parts[@]}"; do ln -sfn "${point##*/}" "/sys/fs/cgroup/$part"; done
    fi
  mount -o remount,ro /sys/fs/cgroup
fi

# The machine-wide tunables the kubelet reads: files of the node's own holding the values the
# kubelet wants, so that its protectKernelDefaults check passes and no write can reach the host.
protect_kernel() {
  local key value file
  for pair in vm/overcommit_memory=1 vm/panic_on_oom=0 kernel/panic=10 kernel/panic_on_oops=1 \
    kernel/keys/root_maxkeys=1000000 kernel/keys/root_maxbytes=25000000; do
    key=${pair%%=*}
    value=${pair#*=}
    file=$stage/sysctl/${key//\//.}
    mkdir -p "$stage/sysctl"
    echo "$value" >"$file"
    mount --bind "$file" "/proc/sys/$key"
  done
}
protect_kernel

hostname "$name"
cp -a "$stage/seed/." /
rm -rf "$stage/seed"

# A fresh machine id, an empty fstab (no host disks, no swap), no host generators.
tr -d - </proc/sys/kernel/random/uuid >/etc/machine-id
: >/etc/fstab
mkdir -p /etc/systemd/system-generators
for gen in /usr/lib/systemd/system-generators/* /lib/systemd/system-generators/*; do
  [ -e "$gen" ] && ln -sf /dev/null "/etc/systemd/system-generators/${gen##*/}"
done

# Boot services that would act on the machine rather than on this node are masked: everything
# sysinit.target pulls in but journald (udev, sysctl, modules, binfmt, clock, random seed,
# tmpfiles, pstore, remount-fs...), and the host's timers, gettys and other targets never start
# because the node boots into kube-e2e.target, which wants nothing else.
mask() { ln -sf /dev/null "/etc/systemd/system/$1"; }
for dir in /usr/lib/systemd/system /lib/systemd/system /etc/systemd/system; do
  for wants in "$dir"/sysinit.target.wants "$dir"/local-fs.target.wants; do
    for unit in "$wants"/*; do
      [ -e "$unit" ] || [ -L "$unit" ] || continue
      case ${unit##*/} in systemd-journald.service | systemd-journal-flush.service) continue ;; esac
      mask "${unit##*/}"
    done
  done
done
for unit in systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket \
  systemd-udev-trigger.service systemd-udev-settle.service systemd-remount-fs.service \
  systemd-tmpfiles-clean.timer systemd-tmpfiles-setup.service systemd-tmpfiles-setup-dev.service \
  systemd-sysctl.service systemd-timesyncd.service systemd-journald-audit.socket \
  systemd-logind.service getty.target console-getty.service systemd-update-utmp.service \
  timers.target swap.target cryptsetup.target veritysetup.target integritysetup.target; do
  mask "$unit"
done

# A node that powers off does not wait 90 s for each container whose PID 1 ignores SIGTERM.
mkdir -p /etc/systemd/system.conf.d
cat >/etc/systemd/system.conf.d/e2e.conf <<'EOF'
[Manager]
DefaultTimeoutStopSec=15s
EOF

# journald: volatile, never the kernel's log or audit (the machine is shared).
mkdir -p /etc/systemd/journald.conf.d
cat >/etc/systemd/journald.conf.d/e2e.conf <<'EOF'
[Journal]
Storage=volatile
Audit=
ReadKMsg=no
ForwardToSyslog=no
ForwardToWall=no
ForwardToConsole=no
RateLimitBurst=0
EOF

export container=kube-bootstrap-e2e
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
exec "$libexec/systemd" --system --unit=kube-e2e.target --log-target=journal --show-status=no </dev/null >/dev/console 2>&1
