# Sourced by run.sh and test.sh: installs what is missing (Debian), then
# configures and builds into build/. Everything a fresh machine needs.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${IST_BUILD_DIR:-$top/build}

need_packages() {
	local missing=()
	for pkg in cmake make gcc clang binutils libcapstone-dev qemu-system-x86 qemu-utils \
		lcov libxml2-utils python3 gdb; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" ||
			missing+=("$pkg")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "setup: installing ${missing[*]}" >&2
	local sudo=
	if [ "$(id -u)" != 0 ]; then
		command -v sudo >/dev/null || {
			echo "setup: missing packages ${missing[*]}: install them as root (apt-get install ${missing[*]})" >&2
			exit 2
		}
		sudo=sudo
	fi
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

need_packages
cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null || {
	echo "setup: the build failed; run 'cmake --build $build' to see why" >&2
	exit 2
}
