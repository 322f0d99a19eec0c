/* Assertion macros for the unit and end-to-end tests.
 *
 * Like the KVM selftests: a failed check prints file:line, the expression, and
 * both values, then the test goes on so one run shows every broken expectation.
 * A test's main() ends with `return check_summary(name)`, whose exit code ctest
 * reads; CHECK_SKIP exits 77, which the CMake tree registers as
 * SKIP_RETURN_CODE.
 */
#ifndef IST_TESTS_CHECK_H
#define IST_TESTS_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures;
static int check_passes;

#define CHECK(expr)                                                            \
	do {                                                                   \
		if (expr) {                                                    \
			check_passes++;                                        \
		} else {                                                       \
			check_failures++;                                      \
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, \
				__LINE__, #expr);                              \
		}                                                              \
	} while (0)

#define CHECK_EQ_U64(a, b)                                                     \
	do {                                                                   \
		uint64_t check_a_ = (uint64_t)(a), check_b_ = (uint64_t)(b);   \
		if (check_a_ == check_b_) {                                    \
			check_passes++;                                        \
		} else {                                                       \
			check_failures++;                                      \
			fprintf(stderr,                                        \
				"%s:%d: %s == %s failed: 0x%" PRIx64           \
				" != 0x%" PRIx64 "\n",                         \
				__FILE__, __LINE__, #a, #b, check_a_,          \
				check_b_);                                     \
		}                                                              \
	} while (0)

#define CHECK_EQ_STR(a, b)                                                     \
	do {                                                                   \
		const char *check_a_ = (a), *check_b_ = (b);                   \
		if (check_a_ && check_b_ && strcmp(check_a_, check_b_) == 0) { \
			check_passes++;                                        \
		} else {                                                       \
			check_failures++;                                      \
			fprintf(stderr,                                        \
				"%s:%d: %s == %s failed: \"%s\" != \"%s\"\n",  \
				__FILE__, __LINE__, #a, #b,                    \
				check_a_ ? check_a_ : "(null)",                \
				check_b_ ? check_b_ : "(null)");               \
		}                                                              \
	} while (0)

/* Exit code ctest treats as "skipped" (see SKIP_RETURN_CODE in CMake). */
#define CHECK_SKIP_CODE 77

#define CHECK_SKIP(...)                                                        \
	do {                                                                   \
		printf("SKIP: ");                                              \
		printf(__VA_ARGS__);                                           \
		printf("\n");                                                  \
		exit(CHECK_SKIP_CODE);                                         \
	} while (0)

static inline int check_summary(const char *name)
{
	printf("%s: %d checks passed, %d failed\n", name, check_passes,
	       check_failures);
	return check_failures ? 1 : 0;
}

#endif
