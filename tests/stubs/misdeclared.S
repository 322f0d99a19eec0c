/* misdeclared (test only): the correct linux stub with a wrong declaration.
 *
 * It claims the NMI fails at the first SYSCALL boundary, where linux passes,
 * so a sweep must report the pass as not declared and exit 4 (a buggy stub
 * that no longer fails). It checks that the exit code follows the
 * declarations, not the verdicts alone.
 */
#include "../../guest/stubs/linux.S"

	EXPECT entry_SYSCALL_64, entry_SYSCALL_64 + 1, IST_EXPECT_FAIL
