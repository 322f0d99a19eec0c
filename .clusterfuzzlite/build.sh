#!/bin/bash -eu
# ClusterFuzzLite build (docs/fuzzing.md, "ClusterFuzzLite"): one libFuzzer
# target per stub of the catalogue, $OUT/schedule_fuzz_<stub>, which is
# fuzz/schedule_fuzz.c built for that stub (-DIST_FUZZ_DEFAULT_STUB: it needs
# no environment), with its seed corpus (corpus/<stub>/) and an options file
# beside it, and the guest ELFs every target loads in $OUT/guest/ (the target
# looks for guest/ beside itself).
#
# Runs in .clusterfuzzlite/Dockerfile's image, where ClusterFuzzLite sets
# $SRC, $OUT, $WORK, $CC, $CXX, $CFLAGS, $CXXFLAGS and $LIB_FUZZING_ENGINE.
# IST_CFLITE_STUBS (stub names, space-separated) limits the targets; by
# default there is one for every guest ELF the build makes.

src=$SRC/ist-torture
build=$WORK/ist-torture-build
obj=$WORK/ist-torture-obj

# --- 1. The guest ELFs and build/generated/guest_build.h, by CMake ---------
# With gcc and none of ClusterFuzzLite's flags: a freestanding guest takes no
# sanitizer and no coverage instrumentation. IST_FUZZ=OFF because CMake's fuzz
# block sets flags of its own; the targets are built in step 3 instead. A
# build directory of its own, apart from any build/ the COPY brought along.
(
	unset CFLAGS CXXFLAGS LDFLAGS
	export CC=gcc CXX=g++
	cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DIST_FUZZ=OFF -DBUILD_TESTING=OFF
	cmake --build "$build" --target ist_guests -j"$(nproc)"
)

# --- 2. Capstone, linked statically -----------------------------------------
# The runner that runs the targets has none of the builder's packages. The
# Dockerfile fetched Capstone 4.0.2's source into $SRC/capstone only when the
# distribution's is older than 4; then it is built here (plain gcc: it is host
# code, which gets no coverage instrumentation anyway).
if [ -d "$SRC/capstone" ]; then
	(
		unset CFLAGS CXXFLAGS LDFLAGS
		export CC=gcc
		cmake -S "$SRC/capstone" -B "$WORK/capstone-build" \
			-DCMAKE_BUILD_TYPE=Release -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
			-DCAPSTONE_BUILD_STATIC=ON -DCAPSTONE_BUILD_SHARED=OFF \
			-DCAPSTONE_BUILD_TESTS=OFF \
			-DCAPSTONE_ARCHITECTURE_DEFAULT=OFF -DCAPSTONE_X86_SUPPORT=ON
		cmake --build "$WORK/capstone-build" -j"$(nproc)"
	)
	capstone_cflags="-I$SRC/capstone/include"
	capstone_lib=$(find "$WORK/capstone-build" -name libcapstone.a | head -n 1)
else
	capstone_cflags=
	capstone_lib=
	for lib in /usr/lib/x86_64-linux-gnu/libcapstone.a /usr/lib/libcapstone.a \
		/usr/local/lib/libcapstone.a; do
		if [ -f "$lib" ]; then
			capstone_lib=$lib
			break
		fi
	done
fi
if [ -z "$capstone_lib" ]; then
	echo "build.sh: no static Capstone (libcapstone.a): see the Dockerfile" >&2
	exit 1
fi

# --- 3. The targets ---------------------------------------------------------
# What CMake's custom command for fuzz/schedule_fuzz compiles, with
# ClusterFuzzLite's compiler and flags: the host sources (IST_HOST_SOURCES,
# read from CMakeLists.txt so that the two lists cannot drift apart) and
# fuzz/schedule_fuzz.c. The allowlist keeps coverage instrumentation out of
# every host function even though $CFLAGS asks for it (-fsanitize=fuzzer-no-link):
# libFuzzer learns from the guest's extra counters alone. No -Werror: this
# clang is not the one the tree is kept warning-free with.
sources=$(sed -n '/^set(IST_HOST_SOURCES/,/)/p' "$src/CMakeLists.txt" |
	grep -oE '[A-Za-z0-9_/-]+\.c' || true)
if [ -z "$sources" ]; then
	echo "build.sh: no IST_HOST_SOURCES list in CMakeLists.txt" >&2
	exit 1
fi
flags="-std=c11 -D_GNU_SOURCE -Wall -Wextra
	-fsanitize-coverage-allowlist=$src/fuzz/no-host-coverage.txt
	-I$src/harness -I$src/injectors -I$src/guest -I$build/generated
	$capstone_cflags"

mkdir -p "$obj"
objs=()
for s in $sources; do
	o=$obj/${s//\//_}.o
	$CC $CFLAGS $flags -c "$src/$s" -o "$o"
	objs+=("$o")
done

# Inputs are at most 1 + SCHEDULE_MAX_DEPTH * FUZZ_STEP_BYTES bytes
# (harness/fuzz_input.h); the target's custom mutator does nothing while
# libFuzzer offers it less room than that, so the options give the whole
# length from the start (len_control = 0).
depth=$(sed -n 's/^#define SCHEDULE_MAX_DEPTH[[:space:]]*\([0-9][0-9]*\).*/\1/p' \
	"$src/harness/schedule.h")
step=$(sed -n 's/^#define FUZZ_STEP_BYTES[[:space:]]*\([0-9][0-9]*\).*/\1/p' \
	"$src/harness/fuzz_input.h")
if [ -z "$depth" ] || [ -z "$step" ]; then
	echo "build.sh: cannot read the input size from harness/schedule.h and fuzz_input.h" >&2
	exit 1
fi
max_len=$((1 + depth * step))

shopt -s nullglob
elfs=("$build"/guest/*.elf)
shopt -u nullglob
if [ ${#elfs[@]} = 0 ]; then
	echo "build.sh: the build made no guest ELFs ($build/guest/*.elf)" >&2
	exit 1
fi
mkdir -p "$OUT/guest"
cp "${elfs[@]}" "$OUT/guest/"
chmod 644 "$OUT"/guest/*.elf

if [ -n "${IST_CFLITE_STUBS:-}" ]; then
	stubs=$IST_CFLITE_STUBS
else
	stubs=
	for elf in "${elfs[@]}"; do
		stubs="$stubs $(basename "$elf" .elf)"
	done
fi

built=
for stub in $stubs; do
	if [ ! -f "$build/guest/$stub.elf" ]; then
		echo "build.sh: no stub '$stub' in the catalogue (guest/stubs/$stub.S)" >&2
		exit 1
	fi
	name=schedule_fuzz_$stub
	# $OUT/guest at build time is where the targets find the ELFs when they
	# run in the same place (helper.py); elsewhere they take guest/ beside
	# themselves (fuzz/schedule_fuzz.c, guest_dir()).
	$CC $CFLAGS $flags \
		-DIST_DEFAULT_GUEST_DIR="\"$OUT/guest\"" \
		-DIST_FUZZ_DEFAULT_STUB="\"$stub\"" \
		-c "$src/fuzz/schedule_fuzz.c" -o "$obj/$name.o"
	# Linked with $CXX, as ClusterFuzzLite wants: libFuzzer is C++.
	$CXX $CXXFLAGS "$obj/$name.o" "${objs[@]}" $LIB_FUZZING_ENGINE \
		"$capstone_lib" -lrt -o "$OUT/$name"
	printf '[libfuzzer]\nmax_len = %d\nlen_control = 0\n' "$max_len" \
		>"$OUT/$name.options"
	rm -f "$OUT/${name}_seed_corpus.zip"
	if [ -d "$src/corpus/$stub" ] && [ -n "$(ls -A "$src/corpus/$stub")" ]; then
		(cd "$src/corpus/$stub" && zip -q -j "$OUT/${name}_seed_corpus.zip" ./*)
	else
		echo "build.sh: no seed corpus for $stub (corpus/$stub/)" >&2
	fi
	built="$built $name"
done
# The crash-file parser's target needs no guest and no KVM: it fuzzes the
# host's own parser, so its objects keep ClusterFuzzLite's coverage (no
# allowlist), and it is the one target that does real work on a runner
# without /dev/kvm (the workflow's comments say why the others cannot).
pobjs=()
for s in $sources; do
	o=$obj/parse_${s//\//_}.o
	$CC $CFLAGS -std=c11 -D_GNU_SOURCE -I"$src/harness" -I"$src/injectors" \
		-I"$src/guest" -I"$build/generated" $capstone_cflags -c "$src/$s" -o "$o"
	pobjs+=("$o")
done
$CC $CFLAGS -std=c11 -D_GNU_SOURCE -I"$src/harness" -I"$src/injectors" -I"$src/guest" \
	-I"$build/generated" $capstone_cflags -c "$src/fuzz/crash_parse_fuzz.c" \
	-o "$obj/crash_parse_fuzz.o"
$CXX $CXXFLAGS "$obj/crash_parse_fuzz.o" "${pobjs[@]}" $LIB_FUZZING_ENGINE \
	"$capstone_lib" -lrt -o "$OUT/crash_parse_fuzz"
rm -f "$OUT/crash_parse_fuzz_seed_corpus.zip"
(cd "$src/crashes" && zip -q -j "$OUT/crash_parse_fuzz_seed_corpus.zip" ./*.crash)
built="$built crash_parse_fuzz"

echo "build.sh: built$built; guest ELFs in $OUT/guest"
