/* The back end an end-to-end test runs on, from its first argument: "kvm"
 * (the default; $IST_KVM_DEVICE or /dev/kvm) or "qemu". Exits 77 (skipped)
 * with the reason when that back end is not usable here. */
#ifndef IST_TESTS_TEST_VM_H
#define IST_TESTS_TEST_VM_H

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "vm.h"

static inline struct vm *test_vm_open(int argc, char **argv)
{
	const char *dev = getenv("IST_KVM_DEVICE");
	char err[400];
	struct vm *vm;

	if (argc > 1 && !strcmp(argv[1], "qemu")) {
		if (vm_open_qemu(IST_GUEST_MEM_SIZE, &vm, err, sizeof(err)) !=
		    VM_OK)
			CHECK_SKIP("no usable QEMU: %s", err);
	} else if (vm_open(dev ? dev : "/dev/kvm", IST_GUEST_MEM_SIZE, &vm, err,
			   sizeof(err)) != VM_OK) {
		CHECK_SKIP("no usable KVM: %s", err);
	}
	printf("back end: %s\n", vm_backend(vm));
	return vm;
}

#endif
