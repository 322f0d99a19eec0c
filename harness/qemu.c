/* QEMU back end of vm.h: qemu-system-x86_64 under TCG, driven over its gdb
 * stub (registers, breakpoints, run and stop) and QMP (NMI, machine check,
 * reset, one snapshot per boot). For machines without a usable /dev/kvm.
 *
 * How each part of vm.h maps onto QEMU:
 *  - guest memory: a file QEMU maps with share=on and the host maps too, so
 *    vm_mem is as direct as KVM's; code goes in through the stub as well
 *    (vm_load_code), so that TCG drops what it translated before;
 *  - registers: the stub reads and writes the GPRs, RIP, RFLAGS, selectors,
 *    FS/GS/kernel-GS bases, CR0-4, EFER, FPU and SSE ('g'/'G');
 *  - what the stub does not show is kept another way. NMI blocking is
 *    followed from what changes it (nmi_before_run) and set by running an
 *    IRETQ or taking an NMI; MCG_STATUS is read and written by running the
 *    guest's own RDMSR/WRMSR; the debug registers are read from the
 *    monitor and written by running the guest's own MOV to DRn; the
 *    interrupt shadow is the monitor's II flag. These "gadgets" run at a
 *    snapshot's own registers, and the
 *    snapshot's memory is put back after them (snapshot_restore). What
 *    never changes after boot (GDTR, IDTR, TR, the SYSCALL MSRs) is in one
 *    QEMU snapshot per boot, loaded again only after a triple fault;
 *  - NMI: QMP inject-nmi, which reaches the CPU through the local APIC's
 *    LINT1 (the guest kernel sets it to NMI delivery) as KVM's nmi.pending
 *    does; #MC: the monitor's mce; the maskable interrupt: a self-IPI the
 *    guest's lapic_write_gadget sends (QEMU has no command for one);
 *    #DB: raised by the CPU itself from the guest's debug registers
 *    (VM_CAN_GUEST_DR); QEMU cannot inject one with a DR6 payload;
 *  - exits: QEMU does not stop on port I/O, so the back end breaks on the
 *    guest's OUT and HLT instructions (vm_note_code_sites) and reports them
 *    as KVM would. A triple fault resets the machine, and a breakpoint on
 *    the reset vector stops it there: that is the shutdown exit (the
 *    registers are then the reset state, not the faulting one).
 * Known differences from hardware: QEMU delivers an NMI inside a MOV SS or
 * STI shadow (the harness holds events the model defers, so this matters
 * only where the model sees the shadow), and does not say which kind of
 * shadow it is.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../guest/ist_abi.h"
#include "gdbremote.h"
#include "qmp.h"
#include "tempdir.h"
#include "vm_backend.h"

#define QEMU_BINARY	 "qemu-system-x86_64"
#define QEMU_IMG	 "qemu-img"
#define START_TIMEOUT_MS 10000
#define MAX_IO_SITES	 64
#define MAX_BPS		 (5 + MAX_IO_SITES)

/* Registers as QEMU 7.2's stub numbers them for x86-64 ('p'/'P'), and
 * their byte offsets in the 'g' reply. */
enum {
	GDB_RIP = 16,
	GDB_EFLAGS = 17,
	GDB_CS = 18, /* then ss, ds, es, fs, gs */
	GDB_FS_BASE = 24,
	GDB_GS_BASE = 25,
	GDB_KERNEL_GS_BASE = 26,
	GDB_CR0 = 27,
	GDB_CR2 = 28,
	GDB_CR3 = 29,
	GDB_CR4 = 30,
	GDB_CR8 = 31,
	GDB_EFER = 32,
};
#define G_RIP	    128
#define G_EFLAGS    136
#define G_SEGS	    140
#define G_BASES	    164 /* fs_base, gs_base, kernel_gs_base */
#define G_CTL	    188 /* cr0, cr2, cr3, cr4, cr8, efer */
#define G_MIN_BYTES 236
#define G_MAX_BYTES 1024
#define EFER_LMA    0x400
/* Where a reset (a triple fault among them) puts the CPU: CS base
 * 0xffff0000, IP 0xfff0. */
#define RESET_VECTOR 0xfffffff0ULL
#define RESET_IP     0xfff0

/* The GPRs in the stub's order, as offsets into struct kvm_regs. */
static const size_t gpr_slot[16] = {
	offsetof(struct kvm_regs, rax), offsetof(struct kvm_regs, rbx),
	offsetof(struct kvm_regs, rcx), offsetof(struct kvm_regs, rdx),
	offsetof(struct kvm_regs, rsi), offsetof(struct kvm_regs, rdi),
	offsetof(struct kvm_regs, rbp), offsetof(struct kvm_regs, rsp),
	offsetof(struct kvm_regs, r8),	offsetof(struct kvm_regs, r9),
	offsetof(struct kvm_regs, r10), offsetof(struct kvm_regs, r11),
	offsetof(struct kvm_regs, r12), offsetof(struct kvm_regs, r13),
	offsetof(struct kvm_regs, r14), offsetof(struct kvm_regs, r15),
};

struct checkpoint {
	struct vcpu_state st; /* as taken: tells what a caller changed */
	char regs[2 * G_MAX_BYTES + 1]; /* the stub's 'g' image */
	uint32_t boot;
	/* Slots are reused once their snapshot is freed: an id is the slot
	 * and the slot's generation, so a stale id is refused, never taken
	 * for the state that reused its slot. */
	uint32_t gen;
	int live;
};

#define CHECKPOINT_SLOT_BITS 20
#define CHECKPOINT_SLOT(id)  ((id) & ((1u << CHECKPOINT_SLOT_BITS) - 1))
#define CHECKPOINT_GEN(id)   ((id) >> CHECKPOINT_SLOT_BITS)

struct qemu_vm {
	struct vm base; /* first: vm.c sees only this */
	char accel[8];	/* -machine accel=: tcg, or kvm when asked */
	pid_t pid;
	char vcpu_schedstat[96]; /* /proc/PID/task/TID/schedstat of its vCPU */
	char dir[64]; /* private temporary directory: RAM file, sockets */
	struct gdb_remote gdb;
	struct qmp qmp;
	uint32_t next_checkpoint;
	struct checkpoint *cps; /* by slot; 0 is none */
	uint32_t *free_slots;	/* released, to be reused */
	size_t nfree, cap_free;
	uint32_t cap_cps;
	uint32_t boot;	   /* counts boots (states without checkpoint) */
	int base_saved;	   /* "savevm base" holds this boot's set-up */
	int cpu_reset;	   /* a triple fault reset the CPU since */
	uint64_t nmi_gate; /* IDT[2]'s handler */
	const struct vm_code_site *at_io; /* stopped on this site */
	struct vm_code_site io[MAX_IO_SITES];
	int nio;
	struct vm_code_site rdmsr, wrmsr, iretq; /* rip 0: none known */
	struct vm_code_site lapic_store;
	struct vm_code_site mov_dr[8]; /* MOV to DRn, by n */
	/* The guest's DR0-3 (0-3), DR6 and DR7 as last read or written;
	 * dr_known has bit n for each that still holds (see qemu_run). */
	uint64_t dr[8];
	unsigned dr_known;
	/* What the stub cannot show, followed here (see nmi_before_run). */
	int nmi_blocked, nmi_pending, mce_pending;
	/* The interrupt shadow (II) may be set: the guest ran and stopped
	 * somewhere since a gadget last ran. A register write does not clear
	 * it, and a restore must not carry it into a state without one. */
	int shadow_maybe;
	/* An interrupt went through the local APIC since the boot's snapshot
	 * was loaded: its IRR and ISR need the snapshot's back. */
	int apic_used;
	int mcg_known;
	uint64_t mcg_status;
	uint64_t user_bp[4];
	int nuser_bp;
	uint64_t armed[MAX_BPS]; /* what the stub has inserted */
	int narmed;
};

static const struct vm_ops qemu_ops;

static struct qemu_vm *to_qemu(struct vm *base)
{
	return (struct qemu_vm *)base;
}

/* The stub's replies are lower-case hex. */
static int hex_nibble(char c)
{
	static const char digits[] = "0123456789abcdef";
	const char *d = c ? strchr(digits, c) : NULL;

	return d ? (int)(d - digits) : 0;
}

/* Little-endian value of `bytes` bytes at byte offset off of a hex blob. */
static uint64_t hex_le(const char *hex, size_t off, int bytes)
{
	uint64_t v = 0;

	for (int i = bytes - 1; i >= 0; i--) {
		const char *p = hex + 2 * (off + (size_t)i);
		v = v << 8 |
		    (uint64_t)(hex_nibble(p[0]) << 4 | hex_nibble(p[1]));
	}
	return v;
}

static void le_hex(uint64_t v, int bytes, char *out)
{
	for (int i = 0; i < bytes; i++, v >>= 8)
		sprintf(out + 2 * i, "%02x", (unsigned)(v & 0xff));
}

static int ok_reply(struct qemu_vm *vm, const char *packet)
{
	char reply[64];

	return gdb_command(&vm->gdb, packet, reply, sizeof(reply)) >= 0 &&
			       strcmp(reply, "OK") == 0
		       ? 0
		       : -1;
}

static int write_reg(struct qemu_vm *vm, int reg, uint64_t v, int bytes)
{
	char packet[64];
	int n = snprintf(packet, sizeof(packet), "P%x=", reg);

	le_hex(v, bytes, packet + n);
	return ok_reply(vm, packet);
}

/* ------------------------------------------------------------ start, stop */

/* The private directory of a VM holds these files and nothing else. It is
 * removed when the VM closes; when the harness is stopped by a signal or
 * exits without closing it; and, should the harness have been killed
 * outright, by the next harness that starts QEMU (the owner file names
 * the process that made it). QEMU itself dies with the harness
 * (PR_SET_PDEATHSIG). */
static const char *const dir_files[] = {"ram", "snapshots.qcow2", "gdb",
					"qmp", "qemu.log",	  "owner"};
#define NDIR_FILES ((int)(sizeof(dir_files) / sizeof(dir_files[0])))

/* Directories left by harnesses that were killed outright. */
static void remove_orphaned_dirs(const char *tmp)
{
	DIR *d = opendir(tmp);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char dir[64], owner[96];
		long pid = 0;
		FILE *f;

		if (strncmp(e->d_name, "ist-qemu-", 9) ||
		    strlen(tmp) + strlen(e->d_name) + 2 > sizeof(dir))
			continue;
		snprintf(dir, sizeof(dir), "%.40s/%.20s", tmp, e->d_name);
		snprintf(owner, sizeof(owner), "%s/owner", dir);
		f = fopen(owner, "r");
		if (!f)
			continue; /* not made by us, or still being made */
		if (fscanf(f, "%ld", &pid) == 1 && pid > 0 &&
		    kill((pid_t)pid, 0) && errno == ESRCH)
			tempdir_remove(dir, dir_files, NDIR_FILES);
		fclose(f);
	}
	if (d)
		closedir(d);
}

static int make_dir(struct qemu_vm *vm, char *err, size_t errlen)
{
	const char *tmp = getenv("TMPDIR");
	char owner[96];
	FILE *f;

	if (!tmp || !*tmp || strlen(tmp) > 40)
		tmp = "/tmp";
	remove_orphaned_dirs(tmp);
	snprintf(vm->dir, sizeof(vm->dir), "%s/ist-qemu-XXXXXX", tmp);
	if (!mkdtemp(vm->dir)) {
		snprintf(err, errlen,
			 "cannot make a temporary directory in %s: %s", tmp,
			 strerror(errno));
		vm->dir[0] = 0;
		return -1;
	}
	if (tempdir_track(vm->dir, dir_files, NDIR_FILES)) {
		snprintf(err, errlen, "too many QEMU back ends at once");
		rmdir(vm->dir);
		vm->dir[0] = 0;
		return -1;
	}
	snprintf(owner, sizeof(owner), "%s/owner", vm->dir);
	f = fopen(owner, "w");
	if (!f || fprintf(f, "%ld\n", (long)getpid()) < 0 || fclose(f)) {
		snprintf(err, errlen, "cannot write in %s: %s", vm->dir,
			 strerror(errno));
		return -1;
	}
	return 0;
}

/* Starts argv with its output appended to log and no input. The child
 * dies with the harness, however the harness ends. Returns its pid, or -1. */
static pid_t spawn(char *const argv[], const char *log)
{
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		int null = open("/dev/null", O_RDONLY);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if (null >= 0)
			dup2(null, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* Out of the terminal's process group: a Ctrl-C is the
		 * harness's to handle (a sweep stops cleanly), and QEMU must
		 * live until it has. */
		setpgid(0, 0);
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid;
}

/* spawn, then its exit status (127: not found), or -1. */
static int run_quietly(char *const argv[], const char *log)
{
	pid_t pid = spawn(argv, log);
	int status;

	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status)
		       ? WEXITSTATUS(status)
		       : -1;
}

static int on_path(const char *name)
{
	const char *path = getenv("PATH");
	char buf[4096];

	if (strchr(name, '/'))
		return access(name, X_OK) == 0;
	while (path && *path) {
		size_t n = strcspn(path, ":");
		snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, path, name);
		if (access(buf, X_OK) == 0)
			return 1;
		path += n + (path[n] == ':');
	}
	return 0;
}

static void last_log_line(const char *log, char *out, size_t cap)
{
	char line[256] = "";
	FILE *f = fopen(log, "r");

	out[0] = 0;
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (line[0] != '\n')
			snprintf(out, cap, "%s", line);
	fclose(f);
	out[strcspn(out, "\n")] = 0;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static const char *qemu_binary(void)
{
	const char *b = getenv("IST_QEMU");
	return b && *b ? b : QEMU_BINARY;
}

static int spawn_qemu(struct qemu_vm *vm, char *err, size_t errlen)
{
	char ram[128], snap[128], gdbsock[128], qmpsock[128], log[128];
	char memobj[256], drive[256], gdbarg[160], qmparg[160], size[32];
	char machine[160];
	char why[200];
	char *img_argv[] = {QEMU_IMG, "create", "-q", "-f",
			    "qcow2",  snap,	"4G", NULL};
	int fd;

	snprintf(ram, sizeof(ram), "%s/ram", vm->dir);
	snprintf(snap, sizeof(snap), "%s/snapshots.qcow2", vm->dir);
	snprintf(gdbsock, sizeof(gdbsock), "%s/gdb", vm->dir);
	snprintf(qmpsock, sizeof(qmpsock), "%s/qmp", vm->dir);
	snprintf(log, sizeof(log), "%s/qemu.log", vm->dir);
	snprintf(size, sizeof(size), "%zuk", vm->base.mem_size / 1024);

	fd = open(ram, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)vm->base.mem_size)) {
		snprintf(err, errlen, "cannot create guest memory in %s: %s",
			 vm->dir, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	vm->base.mem = mmap(NULL, vm->base.mem_size, PROT_READ | PROT_WRITE,
			    MAP_SHARED, fd, 0);
	close(fd);
	if (vm->base.mem == MAP_FAILED) {
		vm->base.mem = NULL;
		snprintf(err, errlen, "cannot map guest memory: %s",
			 strerror(errno));
		return -1;
	}
	/* Snapshots need an image that can hold them; it holds nothing else. */
	if (run_quietly(img_argv, log)) {
		last_log_line(log, why, sizeof(why));
		snprintf(err, errlen,
			 "%s cannot create the snapshot image (%s): install "
			 "qemu-utils (apt-get install qemu-utils)",
			 QEMU_IMG, why[0] ? why : "not found");
		return -1;
	}
	snprintf(memobj, sizeof(memobj),
		 "memory-backend-file,id=ram,size=%s,mem-path=%s,share=on",
		 size, ram);
	snprintf(drive, sizeof(drive),
		 "if=none,id=snapshots,format=qcow2,file=%s", snap);
	snprintf(gdbarg, sizeof(gdbarg), "unix:%s,server=on,wait=off", gdbsock);
	snprintf(machine, sizeof(machine),
		 "microvm,accel=%s,x-option-roms=off,pit=off,pic=off,"
		 "rtc=off,isa-serial=off,memory-backend=ram",
		 vm->accel);
	snprintf(qmparg, sizeof(qmparg), "unix:%s,server=on,wait=off", qmpsock);

	/* No legacy devices: nothing may interrupt the guest. The local
	 * APIC raises the maskable interrupt (qemu_raise_irq); inject-nmi
	 * reaches the CPU through its LINT1, which the guest kernel sets to
	 * NMI delivery before anything is injected (kernel.c). */
	char *argv[] = {(char *)qemu_binary(),
			"-nodefaults",
			"-name",
			"ist-torture,debug-threads=on", /* "CPU 0/TCG" */
			"-nographic",
			"-S",
			"-machine",
			machine,
			"-cpu",
			"qemu64,+mce,+mca,+apic",
			"-m",
			size,
			"-object",
			memobj,
			"-drive",
			drive,
			"-gdb",
			gdbarg,
			"-qmp",
			qmparg,
			"-serial",
			"none",
			"-monitor",
			"none",
			NULL};

	vm->pid = spawn(argv, log);
	if (vm->pid < 0) {
		snprintf(err, errlen, "cannot fork: %s", strerror(errno));
		return -1;
	}

	for (int waited = 0; waited < START_TIMEOUT_MS; waited += 10) {
		int status;
		if (waitpid(vm->pid, &status, WNOHANG) == vm->pid) {
			vm->pid = 0;
			last_log_line(log, why, sizeof(why));
			snprintf(err, errlen,
				 "%s exited at start (%s): check that "
				 "qemu-system-x86 is installed and works",
				 qemu_binary(), why[0] ? why : "no message");
			return -1;
		}
		if (gdb_connect(&vm->gdb, gdbsock) == 0 &&
		    qmp_connect(&vm->qmp, qmpsock) == 0)
			return 0;
		gdb_disconnect(&vm->gdb);
		qmp_disconnect(&vm->qmp);
		sleep_ms(10);
	}
	snprintf(err, errlen,
		 "%s did not open its gdb and QMP sockets in %d ms",
		 qemu_binary(), START_TIMEOUT_MS);
	return -1;
}

/* The stub answers 'p'/'P' only to a client that read the target
 * description; and its register layout must be the one parsed here. */
static int handshake(struct qemu_vm *vm, char *err, size_t errlen)
{
	char reply[4096];
	int n;

	if (gdb_command(&vm->gdb, "qSupported:xmlRegisters=i386", reply,
			sizeof(reply)) < 0 ||
	    gdb_command(&vm->gdb, "qXfer:features:read:target.xml:0,fff", reply,
			sizeof(reply)) < 0 ||
	    !strstr(reply, "x86-64")) {
		snprintf(err, errlen,
			 "%s's gdb stub did not describe an x86-64 target",
			 qemu_binary());
		return -1;
	}
	if (ok_reply(vm, "QStartNoAckMode") == 0)
		vm->gdb.noack = 1;
	n = gdb_command(&vm->gdb, "g", reply, sizeof(reply));
	if (n < 2 * G_MIN_BYTES || hex_le(reply, G_CTL + 40, 8) != 0) {
		snprintf(err, errlen,
			 "%s's gdb stub lays out registers differently from "
			 "QEMU 7.2 (%d bytes of 'g'); this back end does not "
			 "know that version",
			 qemu_binary(), n / 2);
		return -1;
	}
	return 0;
}

static void qemu_close(struct vm *base)
{
	struct qemu_vm *vm = to_qemu(base);

	if (vm->pid > 0) {
		int status;
		if (vm->qmp.fd >= 0)
			qmp_execute(&vm->qmp, "{\"execute\":\"quit\"}", NULL,
				    0);
		for (int i = 0; i < 100; i++) {
			if (waitpid(vm->pid, &status, WNOHANG) == vm->pid) {
				vm->pid = 0;
				break;
			}
			sleep_ms(10);
		}
		if (vm->pid > 0) {
			kill(vm->pid, SIGKILL);
			waitpid(vm->pid, &status, 0);
		}
	}
	gdb_disconnect(&vm->gdb);
	qmp_disconnect(&vm->qmp);
	if (vm->base.mem)
		munmap(vm->base.mem, vm->base.mem_size);
	free(vm->cps);
	free(vm->free_slots);
	if (vm->dir[0]) {
		tempdir_release(vm->dir);
	}
	free(vm);
}

enum vm_open_error vm_open_qemu(size_t mem_size, struct vm **out, char *err,
				size_t errlen)
{
	return vm_open_qemu_accel(mem_size, "tcg", out, err, errlen);
}

enum vm_open_error vm_open_qemu_accel(size_t mem_size, const char *accel,
				      struct vm **out, char *err, size_t errlen)
{
	struct qemu_vm *vm;

	*out = NULL;
	if (!on_path(qemu_binary()) || !on_path(QEMU_IMG)) {
		snprintf(err, errlen,
			 "%s not found: install QEMU (apt-get install "
			 "qemu-system-x86 qemu-utils)",
			 on_path(qemu_binary()) ? QEMU_IMG : qemu_binary());
		return VM_ERR_NO_DEVICE;
	}
	vm = calloc(1, sizeof(*vm));
	if (!vm) {
		snprintf(err, errlen, "out of memory");
		return VM_ERR_UNUSABLE;
	}
	vm->base.ops = &qemu_ops;
	vm->base.mem_size = mem_size;
	vm->base.software = 1;
	vm->base.features = VM_CAN_GUEST_DR | VM_GUEST_DR_BESIDE_HOST_BP |
			    VM_CAN_IRQ | VM_CAN_STEP_USER;
	vm->gdb.fd = vm->qmp.fd = -1;
	vm->next_checkpoint = 1;
	snprintf(vm->accel, sizeof(vm->accel), "%s", accel);
	if (!strcmp(accel, "kvm"))
		snprintf(vm->base.backend, sizeof(vm->base.backend),
			 "qemu (-accel kvm: experimental, never tested with "
			 "this harness)");
	else
		snprintf(vm->base.backend, sizeof(vm->base.backend),
			 "qemu (TCG: every guest instruction is emulated)");
	if (make_dir(vm, err, errlen) || spawn_qemu(vm, err, errlen) ||
	    handshake(vm, err, errlen)) {
		qemu_close(&vm->base);
		return VM_ERR_UNUSABLE;
	}
	*out = &vm->base;
	return VM_OK;
}

/* ------------------------------------------------------------------ state */

static int read_all_regs(struct qemu_vm *vm, char *hex, size_t cap)
{
	return gdb_command(&vm->gdb, "g", hex, cap) >= 2 * G_MIN_BYTES ? 0 : -1;
}

static void qemu_get_state(struct vm *base, struct vcpu_state *st)
{
	struct qemu_vm *vm = to_qemu(base);
	struct kvm_segment *segs[6];
	char hex[2048];

	memset(st, 0, sizeof(*st));
	if (read_all_regs(vm, hex, sizeof(hex)))
		return;
	for (int i = 0; i < 16; i++)
		*(uint64_t *)((char *)&st->regs + gpr_slot[i]) =
			hex_le(hex, 8 * (size_t)i, 8);
	st->regs.rip = hex_le(hex, G_RIP, 8);
	st->regs.rflags = hex_le(hex, G_EFLAGS, 4);
	segs[0] = &st->sregs.cs;
	segs[1] = &st->sregs.ss;
	segs[2] = &st->sregs.ds;
	segs[3] = &st->sregs.es;
	segs[4] = &st->sregs.fs;
	segs[5] = &st->sregs.gs;
	for (int i = 0; i < 6; i++)
		segs[i]->selector =
			(uint16_t)hex_le(hex, G_SEGS + 4 * (size_t)i, 4);
	/* In 64-bit mode CPL is CS.RPL, and SS.DPL equals it. */
	st->sregs.cs.dpl = st->sregs.cs.selector & 3;
	st->sregs.ss.dpl = st->sregs.cs.dpl;
	st->sregs.fs.base = hex_le(hex, G_BASES, 8);
	st->sregs.gs.base = hex_le(hex, G_BASES + 8, 8);
	st->kernel_gs_base = hex_le(hex, G_BASES + 16, 8);
	st->sregs.cr0 = hex_le(hex, G_CTL, 8);
	st->sregs.cr2 = hex_le(hex, G_CTL + 8, 8);
	st->sregs.cr3 = hex_le(hex, G_CTL + 16, 8);
	st->sregs.cr4 = hex_le(hex, G_CTL + 24, 8);
	st->sregs.cr8 = hex_le(hex, G_CTL + 32, 8);
	st->sregs.efer = hex_le(hex, G_CTL + 40, 8);
	st->events.nmi.masked = (uint8_t)vm->nmi_blocked;
	st->events.nmi.pending = (uint8_t)vm->nmi_pending;
	/* As last known; a checkpoint reads them from the monitor. */
	memcpy(st->debugregs.db, vm->dr, sizeof(st->debugregs.db));
	st->debugregs.dr6 = vm->dr[6];
	st->debugregs.dr7 = vm->dr[7];
}

/* From QEMU's reset state (real mode) straight into 64-bit mode, as a boot
 * loader would leave it. The stub loads a selector's hidden part from the
 * GDT through the current paging, and GDTR is 0 after reset: so a scratch
 * page table maps linear 0 to a page holding CS and SS descriptors like the
 * guest's own, for just as long as the selector loads take. */
static int enter_long_mode(struct qemu_vm *vm, const struct vcpu_state *st)
{
	enum {
		PML4 = 0x1000,
		PDPT = 0x2000,
		PD = 0x3000,
		PT = 0x4000,
		GDT = 0x5000,
		END = 0x6000
	};
	uint64_t *m = (uint64_t *)vm->base.mem;
	int rc;

	memset(vm->base.mem + PML4, 0, END - PML4);
	m[PML4 / 8] = PDPT | 3;
	m[PDPT / 8] = PD | 3;
	m[PD / 8] = PT | 3;
	m[PT / 8] = GDT | 3;
	m[GDT / 8 + 1] = 0x00af9b000000ffffULL; /* 64-bit code */
	m[GDT / 8 + 2] = 0x00cf93000000ffffULL; /* data */
	rc = write_reg(vm, GDB_CR4, st->sregs.cr4, 8) ||
	     write_reg(vm, GDB_EFER, st->sregs.efer & ~(uint64_t)EFER_LMA, 8) ||
	     write_reg(vm, GDB_CR3, PML4, 8) ||
	     write_reg(vm, GDB_CR0, st->sregs.cr0, 8) ||
	     write_reg(vm, GDB_CS, st->sregs.cs.selector, 4) ||
	     write_reg(vm, GDB_CS + 1, st->sregs.ss.selector, 4) ||
	     write_reg(vm, GDB_CS + 2, st->sregs.ds.selector, 4) ||
	     write_reg(vm, GDB_CS + 3, st->sregs.es.selector, 4);
	/* Nothing of the scratch pages may outlive the selector loads. */
	memset(vm->base.mem + PML4, 0, END - PML4);
	return rc ? -1 : 0;
}

/* Writes a register unless it is known to hold the value already. */
static int put(struct qemu_vm *vm, int reg, uint64_t v, int same, int bytes)
{
	return same ? 0 : write_reg(vm, reg, v, bytes);
}

#define PUT(reg, field, bytes)                                                 \
	put(vm, reg, st->field, was && was->field == st->field, bytes)

/* Writes the registers of st that the stub can write: all of them, or
 * those that differ from `was`, the state the vCPU is known to hold. */
static int write_state(struct qemu_vm *vm, const struct vcpu_state *st,
		       const struct vcpu_state *was)
{
	char hex[2048];
	uint64_t sel[6] = {st->sregs.cs.selector, st->sregs.ss.selector,
			   st->sregs.ds.selector, st->sregs.es.selector,
			   st->sregs.fs.selector, st->sregs.gs.selector};
	uint64_t old[6] = {0};

	if (!was) {
		if (read_all_regs(vm, hex, sizeof(hex)))
			return -1;
		if (!(hex_le(hex, G_CTL + 40, 8) & EFER_LMA) &&
		    enter_long_mode(vm, st))
			return -1;
	} else {
		old[0] = was->sregs.cs.selector;
		old[1] = was->sregs.ss.selector;
		old[2] = was->sregs.ds.selector;
		old[3] = was->sregs.es.selector;
		old[4] = was->sregs.fs.selector;
		old[5] = was->sregs.gs.selector;
	}
	if (PUT(GDB_CR4, sregs.cr4, 8) || PUT(GDB_CR3, sregs.cr3, 8) ||
	    PUT(GDB_CR0, sregs.cr0, 8) || PUT(GDB_EFER, sregs.efer, 8) ||
	    PUT(GDB_CR2, sregs.cr2, 8))
		return -1;
	/* A selector load reloads its base: selectors before bases. */
	for (int i = 0; i < 6; i++)
		if (put(vm, GDB_CS + i, sel[i], was && old[i] == sel[i], 4))
			return -1;
	if (PUT(GDB_FS_BASE, sregs.fs.base, 8) ||
	    PUT(GDB_GS_BASE, sregs.gs.base, 8) ||
	    PUT(GDB_KERNEL_GS_BASE, kernel_gs_base, 8))
		return -1;
	for (int i = 0; i < 16; i++) {
		size_t off = gpr_slot[i];
		uint64_t v = *(const uint64_t *)((const char *)&st->regs + off);
		int same = was && *(const uint64_t *)((const char *)&was->regs +
						      off) == v;
		if (put(vm, i, v, same, 8))
			return -1;
	}
	return PUT(GDB_RIP, regs.rip, 8) || PUT(GDB_EFLAGS, regs.rflags, 4) ? -1
									    : 0;
}

#undef PUT

/* A boot (a state with no checkpoint) starts from a reset CPU, so that
 * nothing a trial left where the stub cannot reach (NMI blocking, a
 * pending NMI, MCIP) carries over into it. QEMU resets from its main loop
 * after answering: wait until the CPU stands on the reset vector. */
static int reset_cpu(struct qemu_vm *vm)
{
	char hex[2048];

	/* Off the reset vector first, so that arriving there says the reset
	 * happened (a triple fault leaves the CPU on it already). */
	if (write_reg(vm, GDB_RIP, 0, 8) ||
	    qmp_execute(&vm->qmp, "{\"execute\":\"system_reset\"}", NULL, 0))
		return -1;
	for (int tries = 0; tries < 1000; tries++) {
		gdb_forget_registers(&vm->gdb); /* the reset is asynchronous */
		if (read_all_regs(vm, hex, sizeof(hex)))
			return -1;
		if (hex_le(hex, G_RIP, 8) == RESET_IP &&
		    hex_le(hex, G_CTL + 40, 8) == 0)
			return 0;
		sleep_ms(1);
	}
	return -1;
}

/* --- gadgets: the guest's own instructions, run one at a time, to read and
 * set what the stub cannot: an MSR, NMI blocking. Each starts from a CPL0
 * state, stops on a breakpoint, and leaves registers and memory for the
 * caller to put back. */

static int run_gadget(struct qemu_vm *vm, uint64_t stop_at)
{
	char packet[64], reply[256], hex[2048];
	int rc;

	snprintf(packet, sizeof(packet), "Z0,%llx,1",
		 (unsigned long long)stop_at);
	if (ok_reply(vm, packet))
		return -1;
	rc = gdb_command(&vm->gdb, "c", reply, sizeof(reply)) < 0 ||
	     read_all_regs(vm, hex, sizeof(hex)) ||
	     hex_le(hex, G_RIP, 8) != stop_at;
	/* The gadget's instruction is none that sets a shadow, and it ended
	 * any there was. */
	vm->shadow_maybe = 0;
	packet[0] = 'z';
	return ok_reply(vm, packet) || rc ? -1 : 0;
}

static int rdmsr_gadget(struct qemu_vm *vm, uint32_t msr, uint64_t *value)
{
	char hex[2048];

	if (!vm->rdmsr.rip || write_reg(vm, 2, msr, 8) ||
	    write_reg(vm, GDB_RIP, vm->rdmsr.rip, 8) ||
	    run_gadget(vm, vm->rdmsr.rip + vm->rdmsr.len) ||
	    read_all_regs(vm, hex, sizeof(hex)))
		return -1;
	*value = hex_le(hex, 24, 8) << 32 | (hex_le(hex, 0, 8) & 0xffffffffULL);
	return 0;
}

static int wrmsr_gadget(struct qemu_vm *vm, uint32_t msr, uint64_t value)
{
	return !vm->wrmsr.rip || write_reg(vm, 2, msr, 8) ||
			       write_reg(vm, 0, value & 0xffffffffULL, 8) ||
			       write_reg(vm, 3, value >> 32, 8) ||
			       write_reg(vm, GDB_RIP, vm->wrmsr.rip, 8) ||
			       run_gadget(vm, vm->wrmsr.rip + vm->wrmsr.len)
		       ? -1
		       : 0;
}

/* The stub numbers the GPRs rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp; the
 * instruction encoding rax, rcx, rdx, rbx, rsp, rbp, rsi, rdi. */
static int gdb_gpr(uint8_t encoded)
{
	static const uint8_t to_gdb[8] = {0, 2, 3, 1, 7, 6, 4, 5};
	return encoded < 8 ? to_gdb[encoded] : encoded;
}

/* MOV to DRn needs CPL0: a gadget run from a user-mode state first loads
 * the kernel's selectors (the caller's register image puts them back). */
static int mov_dr_gadget(struct qemu_vm *vm, int n, uint64_t value)
{
	const struct vm_code_site *g = &vm->mov_dr[n];
	char hex[2048];

	if (!g->rip || read_all_regs(vm, hex, sizeof(hex)))
		return -1;
	if ((hex_le(hex, G_SEGS, 4) & 3) &&
	    (write_reg(vm, GDB_CS, IST_SEL_KERNEL_CS, 4) ||
	     write_reg(vm, GDB_CS + 1, IST_SEL_KERNEL_SS, 4)))
		return -1;
	if (write_reg(vm, gdb_gpr(g->gpr), value, 8) ||
	    write_reg(vm, GDB_RIP, g->rip, 8) ||
	    run_gadget(vm, g->rip + g->len))
		return -1;
	vm->dr[n] = value;
	vm->dr_known |= 1u << n;
	return 0;
}

/* Makes DR0-3, DR6 and DR7 what dr says, writing only those that differ
 * from what is known. An address register that dr's DR7 leaves disabled
 * cannot act, and is left as it is. The caller puts the registers back. */
static int write_debugregs(struct qemu_vm *vm, const struct kvm_debugregs *dr)
{
	const uint64_t want[8] = {dr->db[0], dr->db[1], dr->db[2], dr->db[3],
				  0,	     0,		dr->dr6,   dr->dr7};

	/* Disarm first, so that no breakpoint fires half set up; the new
	 * DR7 goes in last. */
	if (((vm->dr_known >> 7 & 1) == 0 || (vm->dr[7] & 0xff)) &&
	    mov_dr_gadget(vm, 7, want[7] & ~0xffULL))
		return -1;
	for (int n = 0; n <= 6; n++) {
		int used = n == 6 || (n < 4 && (dr->dr7 >> (2 * n) & 3));

		if (!used || ((vm->dr_known >> n & 1) && vm->dr[n] == want[n]))
			continue;
		if (mov_dr_gadget(vm, n, want[n]))
			return -1;
	}
	if (!(vm->dr_known >> 7 & 1) || vm->dr[7] != want[7])
		return mov_dr_gadget(vm, 7, want[7]);
	return 0;
}

/* An IRETQ to the current CS:RSP unblocks NMIs: its frame goes below the
 * current RSP (memory the caller puts back), and it returns onto a
 * breakpoint. */
static int unblock_nmis(struct qemu_vm *vm)
{
	char hex[2048];
	uint64_t frame[5], rsp, gpa, cr3;
	uint8_t *dst;

	if (!vm->iretq.rip || read_all_regs(vm, hex, sizeof(hex)))
		return -1;
	rsp = hex_le(hex, 7 * 8, 8);
	cr3 = hex_le(hex, G_CTL + 16, 8);
	frame[0] = vm->rdmsr.rip; /* where it lands: any mapped address */
	frame[1] = hex_le(hex, G_SEGS, 4);     /* CS */
	frame[2] = 0x2;			       /* RFLAGS */
	frame[3] = rsp;			       /* RSP */
	frame[4] = hex_le(hex, G_SEGS + 4, 4); /* SS */
	rsp = (rsp - 256 - sizeof(frame)) & ~15ULL;
	/* All of it in one page, so one translation finds it. */
	if ((rsp & 0xfff) + sizeof(frame) > 4096)
		rsp = (rsp & ~0xfffULL) + 4096 - 48;
	if (vm_translate(&vm->base, cr3, rsp, &gpa) ||
	    !(dst = vm_mem(&vm->base, gpa, sizeof(frame))))
		return -1;
	memcpy(dst, frame, sizeof(frame));
	vm_mem_written(&vm->base, gpa, sizeof(frame));
	return write_reg(vm, 7, rsp, 8) ||
			       write_reg(vm, GDB_RIP, vm->iretq.rip, 8) ||
			       run_gadget(vm, frame[0])
		       ? -1
		       : 0;
}

/* An NMI delivered at once blocks NMIs; it stops on its gate's first
 * instruction, its frame pushed on the NMI stack (memory the caller puts
 * back). */
static int block_nmis(struct qemu_vm *vm)
{
	return !vm->nmi_gate ||
			       qmp_execute(&vm->qmp,
					   "{\"execute\":\"inject-nmi\"}", NULL,
					   0) ||
			       run_gadget(vm, vm->nmi_gate)
		       ? -1
		       : 0;
}

/* The NMI gate, from the IDT the monitor names (at a booted state). */
static void find_nmi_gate(struct qemu_vm *vm)
{
	char regs[4096], hex[2048];
	unsigned long long idt = 0;
	uint8_t gate[16];
	const char *p;

	vm->nmi_gate = 0;
	if (qmp_hmp(&vm->qmp, "info registers", regs, sizeof(regs)) == 0 ||
	    !(p = strstr(regs, "IDT=")) || sscanf(p + 4, "%llx", &idt) != 1 ||
	    read_all_regs(vm, hex, sizeof(hex)) ||
	    vm_read_virt(&vm->base, hex_le(hex, G_CTL + 16, 8), idt + 2 * 16,
			 gate, sizeof(gate)))
		return;
	vm->nmi_gate = (uint64_t)gate[0] | (uint64_t)gate[1] << 8 |
		       (uint64_t)gate[6] << 16 | (uint64_t)gate[7] << 24 |
		       (uint64_t)gate[8] << 32 | (uint64_t)gate[9] << 40 |
		       (uint64_t)gate[10] << 48 | (uint64_t)gate[11] << 56;
}

/* --- checkpoints: what a snapshot needs beyond registers and memory ----
 *
 * A checkpoint keeps the stub's full register image ('g', FPU and SSE
 * included) and the hidden state: NMI blocking (followed, see
 * nmi_before_run), MCG_STATUS (read by the guest's RDMSR) and the
 * interrupt shadow (the monitor's II flag; QEMU does not say which kind,
 * so it is reported as MOV SS's, which holds the most). What never changes
 * after boot (GDTR, IDTR, TR, the SYSCALL MSRs, EFER) is in one QEMU
 * snapshot per boot, taken at its first checkpoint and loaded again only
 * when a triple fault has reset the CPU. */

static int put_regs(struct qemu_vm *vm, const char *image)
{
	char packet[2 * G_MAX_BYTES + 2];

	snprintf(packet, sizeof(packet), "G%s", image);
	return ok_reply(vm, packet);
}

static int save_base(struct qemu_vm *vm)
{
	char why[256];

	if (vm->base_saved)
		return 0;
	if (qmp_hmp(&vm->qmp, "savevm base", why, sizeof(why)))
		return -1;
	find_nmi_gate(vm);
	vm->base_saved = 1;
	return 0;
}

static int load_base(struct qemu_vm *vm)
{
	char why[256];

	gdb_forget_registers(&vm->gdb);
	if (!vm->base_saved ||
	    qmp_hmp(&vm->qmp, "loadvm base", why, sizeof(why)))
		return -1;
	vm->cpu_reset = 0;
	vm->nmi_blocked = vm->nmi_pending = vm->mce_pending = 0;
	vm->apic_used = 0;
	vm->mcg_known = 1;
	vm->mcg_status = 0;
	vm->dr_known = 0;
	return 0;
}

/* "DR0=... DR1=... DR2=... DR3=...\nDR6=... DR7=..." in info registers. */
static int parse_debugregs(const char *regs, struct kvm_debugregs *dr)
{
	static const char *const names[6] = {
		"DR0=", "DR1=", "DR2=", "DR3=", "DR6=", "DR7="};
	unsigned long long v[6];

	for (int i = 0; i < 6; i++) {
		const char *p = strstr(regs, names[i]);
		if (!p || sscanf(p + 4, "%llx", &v[i]) != 1)
			return -1;
	}
	memset(dr, 0, sizeof(*dr));
	for (int i = 0; i < 4; i++)
		dr->db[i] = v[i];
	dr->dr6 = v[4];
	dr->dr7 = v[5];
	return 0;
}

static int qemu_checkpoint(struct vm *base, struct vcpu_state *st)
{
	struct qemu_vm *vm = to_qemu(base);
	struct checkpoint *cp;
	char regs[4096];
	const char *ii;
	uint32_t id =
		vm->nfree ? vm->free_slots[vm->nfree - 1] : vm->next_checkpoint;

	if (id >= 1u << CHECKPOINT_SLOT_BITS)
		return -1; /* a million live snapshots: a leak upstream */
	if (id >= vm->cap_cps) {
		uint32_t cap = vm->cap_cps ? 2 * vm->cap_cps : 256;
		struct checkpoint *n = realloc(vm->cps, cap * sizeof(*n));
		if (!n)
			return -1;
		vm->cps = n;
		vm->cap_cps = cap;
	}
	cp = &vm->cps[id];
	if (vm->nmi_pending || vm->mce_pending || save_base(vm) ||
	    read_all_regs(vm, cp->regs, sizeof(cp->regs)) ||
	    qmp_hmp(&vm->qmp, "info registers", regs, sizeof(regs)) == 0)
		return -1; /* info registers always prints */
	ii = strstr(regs, "II=");
	st->events.interrupt.shadow =
		ii && ii[3] == '1' ? KVM_X86_SHADOW_INT_MOV_SS : 0;
	vm->shadow_maybe = st->events.interrupt.shadow != 0;
	if (parse_debugregs(regs, &st->debugregs))
		return -1;
	memcpy(vm->dr, st->debugregs.db, sizeof(st->debugregs.db));
	vm->dr[6] = st->debugregs.dr6;
	vm->dr[7] = st->debugregs.dr7;
	vm->dr_known = 0xcf;
	st->mcg_status = 0;
	if (!(st->sregs.cs.selector & 3)) {
		/* RDMSR needs CPL0; at CPL3 no #MC handler is running. */
		if (rdmsr_gadget(vm, IST_MSR_MCG_STATUS, &st->mcg_status) ||
		    put_regs(vm, cp->regs))
			return -1;
		vm->mcg_known = 1;
		vm->mcg_status = st->mcg_status;
	}
	cp->boot = vm->boot;
	if (id == vm->next_checkpoint) {
		cp->gen = 0;
		vm->next_checkpoint++;
	} else {
		cp->gen = (cp->gen + 1) &
			  ((1u << (32 - CHECKPOINT_SLOT_BITS)) - 1);
		vm->nfree--;
	}
	cp->live = 1;
	st->checkpoint = id | cp->gen << CHECKPOINT_SLOT_BITS;
	cp->st = *st;
	return 0;
}

/* The snapshot that held this checkpoint is gone: its slot can serve
 * another (a long sweep or fuzzing run would otherwise grow without end,
 * some 3.5 KB a boundary of every trace). */
static void qemu_release_checkpoint(struct vm *base, uint32_t id)
{
	struct qemu_vm *vm = to_qemu(base);
	uint32_t slot = CHECKPOINT_SLOT(id);

	if (!slot || slot >= vm->next_checkpoint || !vm->cps[slot].live ||
	    vm->cps[slot].gen != CHECKPOINT_GEN(id))
		return;
	if (vm->nfree == vm->cap_free) {
		size_t cap = vm->cap_free ? 2 * vm->cap_free : 256;
		uint32_t *n = realloc(vm->free_slots, cap * sizeof(*n));

		if (!n)
			return; /* kept: memory, not correctness */
		vm->free_slots = n;
		vm->cap_free = cap;
	}
	vm->cps[slot].live = 0;
	vm->free_slots[vm->nfree++] = slot;
}

/* What a reset leaves in the debug registers. */
static void set_reset_debugregs(struct qemu_vm *vm)
{
	memset(vm->dr, 0, sizeof(vm->dr));
	vm->dr[6] = IST_DR6_RESERVED;
	vm->dr[7] = 0x400;
	vm->dr_known = 0xcf;
}

static int qemu_set_state(struct vm *base, const struct vcpu_state *st)
{
	struct qemu_vm *vm = to_qemu(base);
	uint32_t slot = CHECKPOINT_SLOT(st->checkpoint);
	const struct checkpoint *cp =
		slot && slot < vm->next_checkpoint ? &vm->cps[slot] : NULL;

	if (cp && (!cp->live || cp->gen != CHECKPOINT_GEN(st->checkpoint)))
		return -1; /* its snapshot was freed: a harness bug */

	vm->at_io = NULL;
	if (!cp) {
		/* A boot: from a reset CPU, so that nothing a trial left where
		 * the stub cannot reach carries over into it. */
		vm->boot++;
		vm->base_saved = vm->cpu_reset = 0;
		vm->nmi_blocked = vm->nmi_pending = vm->mce_pending = 0;
		vm->mcg_known = 1;
		vm->mcg_status = 0;
		set_reset_debugregs(vm);
		return reset_cpu(vm) || write_state(vm, st, NULL) ? -1 : 0;
	}
	if (cp->boot != vm->boot || cp->st.events.nmi.pending)
		return -1; /* another boot's, or a state this cannot make */
	/* Events still waiting, or a reset CPU: from the boot's snapshot. */
	if ((vm->cpu_reset || vm->nmi_pending || vm->mce_pending ||
	     vm->apic_used) &&
	    load_base(vm))
		return -1;
	/* The hidden state, by gadgets run from the target's registers. */
	if (put_regs(vm, cp->regs))
		return -1;
	if ((!vm->mcg_known || vm->mcg_status != cp->st.mcg_status) &&
	    !(cp->st.sregs.cs.selector & 3)) {
		if (wrmsr_gadget(vm, IST_MSR_MCG_STATUS, cp->st.mcg_status) ||
		    put_regs(vm, cp->regs))
			return -1;
		vm->mcg_known = 1;
		vm->mcg_status = cp->st.mcg_status;
	}
	if (vm->nmi_blocked != cp->st.events.nmi.masked) {
		if ((vm->nmi_blocked ? unblock_nmis(vm) : block_nmis(vm)) ||
		    put_regs(vm, cp->regs))
			return -1;
		vm->nmi_blocked = cp->st.events.nmi.masked;
	}
	if (write_debugregs(vm, &st->debugregs) || put_regs(vm, cp->regs))
		return -1;
	/* A shadow the last run left would hold off (or, in QEMU, not) the
	 * trial's first event: ended by one harmless instruction, DR7
	 * written with what it holds. A shadow the state has cannot be made
	 * (documented above). Without the gadget (a guest that is no stub,
	 * such as a benchmark's loop) it stays. */
	if (vm->shadow_maybe && !cp->st.events.interrupt.shadow &&
	    vm->mov_dr[7].rip &&
	    (mov_dr_gadget(vm, 7, vm->dr[7]) || put_regs(vm, cp->regs)))
		return -1;
	/* Then whatever the caller changed in its copy of the state. Guest
	 * memory is the caller's to put back (snapshot_restore does, after
	 * this). */
	return write_state(vm, st, &cp->st);
}

static void qemu_note_code_sites(struct vm *base,
				 const struct vm_code_site *sites, int n)
{
	struct qemu_vm *vm = to_qemu(base);

	vm->nio = 0;
	memset(&vm->rdmsr, 0, sizeof(vm->rdmsr));
	memset(&vm->wrmsr, 0, sizeof(vm->wrmsr));
	memset(&vm->iretq, 0, sizeof(vm->iretq));
	memset(&vm->lapic_store, 0, sizeof(vm->lapic_store));
	memset(vm->mov_dr, 0, sizeof(vm->mov_dr));
	/* The first of each gadget instruction: the runtime's, found before
	 * the stub's entry text, where the harness's own breakpoints are. */
	for (int i = 0; i < n; i++) {
		struct vm_code_site *g =
			sites[i].opcode == VM_SITE_RDMSR   ? &vm->rdmsr
			: sites[i].opcode == VM_SITE_WRMSR ? &vm->wrmsr
			: sites[i].opcode == VM_SITE_IRETQ ? &vm->iretq
			: sites[i].opcode == VM_SITE_LAPIC_STORE
				? &vm->lapic_store
				: NULL;
		if (sites[i].opcode == VM_SITE_MOV_DR)
			g = &vm->mov_dr[sites[i].dr & 7];
		if (g && !g->rip)
			*g = sites[i];
		else if (g)
			continue;
		else if (!g && vm->nio < MAX_IO_SITES)
			vm->io[vm->nio++] = sites[i];
	}
}

/* TCG notices code changes by watching writes that go through QEMU; a
 * write by the host through the shared file is not one of them. Writing
 * the same bytes again through the stub, in physical-address mode, makes
 * QEMU drop what it translated there. No test here shows stale code
 * without it (the reset before every boot may already flush it), so this
 * is a guarantee kept, not a bug fixed: loading a second stub into the
 * same VM must never run the first one's entry code. */
static int qemu_code_written(struct vm *base, uint64_t gpa, size_t len)
{
	struct qemu_vm *vm = to_qemu(base);
	enum { CHUNK = 1024 };
	char packet[64 + 2 * CHUNK];
	int rc = ok_reply(vm, "Qqemu.PhyMemMode:1");

	for (size_t off = 0; rc == 0 && off < len; off += CHUNK) {
		size_t n = len - off < CHUNK ? len - off : CHUNK;
		int k = snprintf(packet, sizeof(packet),
				 "M%llx,%zx:", (unsigned long long)(gpa + off),
				 n);
		for (size_t i = 0; i < n; i++)
			sprintf(packet + k + 2 * i, "%02x",
				vm->base.mem[gpa + off + i]);
		rc = ok_reply(vm, packet);
	}
	return ok_reply(vm, "Qqemu.PhyMemMode:0") || rc ? -1 : 0;
}

/* ------------------------------------------------------------ breakpoints */

static int qemu_set_breakpoints(struct vm *base, const uint64_t *addrs, int n)
{
	struct qemu_vm *vm = to_qemu(base);

	if (n > 4)
		return -1;
	if (n > 0)
		memcpy(vm->user_bp, addrs, (size_t)n * sizeof(*addrs));
	vm->nuser_bp = n;
	return 0;
}

static int in_list(const uint64_t *list, int n, uint64_t a)
{
	for (int i = 0; i < n; i++)
		if (list[i] == a)
			return 1;
	return 0;
}

/* Makes the stub's breakpoints the user's plus the I/O sites. */
static int sync_breakpoints(struct qemu_vm *vm)
{
	uint64_t want[MAX_BPS];
	int nwant = 0;
	char packet[64];

	for (int i = 0; i < vm->nuser_bp; i++)
		if (!in_list(want, nwant, vm->user_bp[i]))
			want[nwant++] = vm->user_bp[i];
	for (int i = 0; i < vm->nio; i++)
		if (!in_list(want, nwant, vm->io[i].rip))
			want[nwant++] = vm->io[i].rip;
	want[nwant++] = RESET_VECTOR;
	for (int i = 0; i < vm->narmed; i++) {
		if (in_list(want, nwant, vm->armed[i]))
			continue;
		snprintf(packet, sizeof(packet), "z0,%llx,1",
			 (unsigned long long)vm->armed[i]);
		if (ok_reply(vm, packet))
			return -1;
		vm->armed[i--] = vm->armed[--vm->narmed];
	}
	for (int i = 0; i < nwant; i++) {
		if (in_list(vm->armed, vm->narmed, want[i]))
			continue;
		snprintf(packet, sizeof(packet), "Z0,%llx,1",
			 (unsigned long long)want[i]);
		if (ok_reply(vm, packet))
			return -1;
		vm->armed[vm->narmed++] = want[i];
	}
	return 0;
}

/* ----------------------------------------------------------------- events */

static int qemu_set_guest_debugregs(struct vm *base,
				    const struct kvm_debugregs *dr)
{
	struct qemu_vm *vm = to_qemu(base);
	char image[2 * G_MAX_BYTES + 1];

	if (read_all_regs(vm, image, sizeof(image)) ||
	    write_debugregs(vm, dr) || put_regs(vm, image))
		return -1;
	return 0;
}

static int qemu_disarm_guest_breakpoints(struct vm *base)
{
	struct qemu_vm *vm = to_qemu(base);
	char image[2 * G_MAX_BYTES + 1];

	/* This guest never sets DR7's other bits: disarmed is 0x400. */
	if (read_all_regs(vm, image, sizeof(image)) ||
	    mov_dr_gadget(vm, 7, 0x400) || put_regs(vm, image))
		return -1;
	return 0;
}

static int qemu_pend_nmi(struct vm *base)
{
	struct qemu_vm *vm = to_qemu(base);

	vm->nmi_pending = 1; /* a second one while pending collapses */
	return qmp_execute(&vm->qmp, "{\"execute\":\"inject-nmi\"}", NULL, 0);
}

/* A fixed self-IPI through the ICR, sent at CPL0 with IF=0 by the guest's
 * lapic_write_gadget: pending in the APIC, it is taken before the next
 * instruction once the vCPU is back on its own registers. */
static int qemu_raise_irq(struct vm *base, uint8_t vector)
{
	struct qemu_vm *vm = to_qemu(base);
	const struct vm_code_site *g = &vm->lapic_store;
	char hex[2048];

	if (!g->rip || read_all_regs(vm, hex, sizeof(hex)))
		return -1;
	vm->apic_used = 1;
	if (write_reg(vm, GDB_CS, IST_SEL_KERNEL_CS, 4) ||
	    write_reg(vm, GDB_CS + 1, IST_SEL_KERNEL_SS, 4) ||
	    write_reg(vm, GDB_EFLAGS, 0x2, 4) ||
	    write_reg(vm, 0, 1u << 18 | vector, 8) || /* self, fixed */
	    write_reg(vm, 3, IST_LAPIC_VA + IST_LAPIC_ICR_LO, 8) ||
	    write_reg(vm, GDB_RIP, g->rip, 8) ||
	    run_gadget(vm, g->rip + g->len))
		return -1;
	return put_regs(vm, hex);
}

static int qemu_signal_mce(struct vm *base, const struct vm_mce *mce)
{
	struct qemu_vm *vm = to_qemu(base);
	char cmd[160], said[256];

	snprintf(cmd, sizeof(cmd), "mce 0 0 0x%llx 0x%llx 0x%llx 0x%llx",
		 (unsigned long long)mce->status,
		 (unsigned long long)mce->mcg_status,
		 (unsigned long long)mce->addr, (unsigned long long)mce->misc);
	/* "Previous MCE still in progress, raising triple fault" is the
	 * CPU shutting down, as the architecture says it must: the next run
	 * stops on the reset vector. */
	gdb_forget_registers(&vm->gdb); /* a second one resets the CPU */
	if (qmp_hmp(&vm->qmp, cmd, said, sizeof(said)) == 0) {
		vm->mce_pending = !!(mce->status & (1ULL << 61)); /* UC */
		vm->mcg_known = 0;
		return 0;
	}
	if (!strstr(said, "triple fault"))
		return -1;
	vm->cpu_reset = 1;
	return 0;
}

/* -------------------------------------------------------------------- run */

static const struct vm_code_site *io_site_at(struct qemu_vm *vm, uint64_t rip)
{
	for (int i = 0; i < vm->nio; i++)
		if (vm->io[i].rip == rip)
			return &vm->io[i];
	return NULL;
}

/* An OUT the back end stopped on is done by moving past it: nothing
 * listens on the guest's ports. */
static int finish_io(struct qemu_vm *vm)
{
	const struct vm_code_site *s = vm->at_io;

	vm->at_io = NULL;
	return s ? write_reg(vm, GDB_RIP, s->rip + s->len, 8) : 0;
}

static void io_exit(const struct vm_code_site *s, const struct vcpu_state *st,
		    struct vm_exit *exit)
{
	uint64_t mask =
		s->opsize >= 4 ? 0xffffffffULL : (1ULL << (8 * s->opsize)) - 1;

	if (s->opcode == 0xf4) {
		exit->kind = VM_EXIT_HLT;
		return;
	}
	exit->kind = VM_EXIT_IO;
	exit->port = s->opcode == 0xe6 || s->opcode == 0xe7
			     ? s->port
			     : (uint16_t)st->regs.rdx;
	exit->value = (uint32_t)(st->regs.rax & mask);
}

/* NMI blocking, which QEMU keeps but its stub does not show, followed from
 * what the architecture says changes it: the delivery of an NMI sets it,
 * an IRET clears it. A pending NMI with NMIs unblocked is delivered at the
 * boundary the run starts from, before anything else runs (QEMU checks
 * interrupts before each block it executes, and holds no NMI for an
 * interrupt shadow). With NMIs blocked and no event waiting, the first
 * instruction the run executes is the one at RIP: if it is an IRET, NMIs
 * are unblocked after the run, and a latched NMI was delivered right after
 * it. That is exact while the harness steps entry text, where every IRET
 * of this guest is; after a free run the flag may miss an IRET, which only
 * the harness's own gate check would then notice. */
/* Does an execute breakpoint the guest armed (as last known: the harness
 * arms them itself) fire at rip before the instruction there runs? RF=1
 * suppresses it. */
static int guest_breakpoint_at(const struct qemu_vm *vm, uint64_t rip,
			       uint64_t rflags)
{
	uint64_t dr7 = vm->dr[7];

	if (rflags & (1ULL << 16))
		return 0;
	for (int n = 0; n < 4; n++)
		if ((dr7 >> (2 * n) & 3) && !(dr7 >> (16 + 4 * n) & 3) &&
		    vm->dr[n] == rip)
			return 1;
	return 0;
}

static int nmi_before_run(struct qemu_vm *vm, int *iret_first)
{
	char hex[2048];
	uint8_t code[3];
	uint64_t rip, cr3;
	size_t p = 0;

	*iret_first = 0;
	if (vm->nmi_pending && !vm->nmi_blocked) {
		vm->nmi_pending = 0;
		vm->nmi_blocked = 1;
		return 0;
	}
	if (!vm->nmi_blocked || vm->mce_pending)
		return 0;
	if (read_all_regs(vm, hex, sizeof(hex)))
		return -1;
	rip = hex_le(hex, G_RIP, 8);
	cr3 = hex_le(hex, G_CTL + 16, 8);
	if (vm_read_virt(&vm->base, cr3, rip, code, sizeof(code)))
		return 0;
	if ((code[0] & 0xf0) == 0x40 || code[0] == 0x66)
		p = 1; /* REX.W (IRETQ) or operand size (IRETW) */
	/* An IRET that faults first (on the guest's own breakpoint, a #DB
	 * the harness armed there) has not run, and NMIs stay blocked. */
	*iret_first = code[p] == 0xcf &&
		      !guest_breakpoint_at(vm, rip, hex_le(hex, G_EFLAGS, 4));
	return 0;
}

static void nmi_after_run(struct qemu_vm *vm, int iret_first)
{
	if (!iret_first)
		return;
	vm->nmi_blocked = vm->nmi_pending;
	vm->nmi_pending = 0;
}

static int qemu_run(struct vm *base, unsigned timeout_ms, struct vm_exit *exit)
{
	struct qemu_vm *vm = to_qemu(base);
	struct vcpu_state st;
	char reply[512];
	int rc, iret_first = 0;

	memset(exit, 0, sizeof(*exit));
	if (finish_io(vm) || sync_breakpoints(vm) ||
	    nmi_before_run(vm, &iret_first) || gdb_send(&vm->gdb, "c"))
		goto failed;
	vm->mce_pending = 0;
	vm->shadow_maybe = 1;
	/* Only an #MC sets MCG_STATUS, but the #MC body may clear it in any
	 * run that starts inside its handler. */
	if (vm->mcg_status)
		vm->mcg_known = 0;
	/* Only a #DB makes the guest's runtime write its debug registers
	 * (exc_debug), and here only an armed breakpoint raises one. */
	if (!(vm->dr_known >> 7 & 1) || (vm->dr[7] & 0xff))
		vm->dr_known = 0;
	rc = gdb_recv(&vm->gdb, reply, sizeof(reply), (int)timeout_ms);
	if (rc == -2) {
		if (gdb_interrupt(&vm->gdb) ||
		    gdb_recv(&vm->gdb, reply, sizeof(reply), 5000) < 0)
			goto failed;
		/* The stop the interrupt caused is SIGINT's (T02). The guest
		 * may have stopped on its own just before, at a breakpoint
		 * (T05): then that is the exit, and no time ran out. */
		if ((reply[0] == 'T' || reply[0] == 'S') && reply[1] == '0' &&
		    reply[2] == '2') {
			nmi_after_run(vm, iret_first);
			exit->kind = VM_EXIT_TIMEOUT;
			return 0;
		}
		rc = 0;
	}
	if (rc < 0)
		goto failed;
	nmi_after_run(vm, iret_first);
	if (reply[0] == 'W' || reply[0] == 'X') {
		snprintf(exit->detail, sizeof(exit->detail),
			 "QEMU ended (%.40s)", reply);
		exit->kind = VM_EXIT_OTHER;
		return -1;
	}
	qemu_get_state(base, &st);
	if (st.regs.rip == RESET_IP && st.sregs.cs.selector == 0xf000) {
		vm->cpu_reset = 1;
		exit->kind = VM_EXIT_SHUTDOWN;
		return 0;
	}
	if (in_list(vm->user_bp, vm->nuser_bp, st.regs.rip)) {
		exit->kind = VM_EXIT_BREAKPOINT;
		return 0;
	}
	vm->at_io = io_site_at(vm, st.regs.rip);
	if (vm->at_io) {
		io_exit(vm->at_io, &st, exit);
		return 0;
	}
	exit->kind = VM_EXIT_OTHER;
	snprintf(exit->detail, sizeof(exit->detail),
		 "QEMU stopped at rip 0x%llx (%.20s) for no known reason",
		 (unsigned long long)st.regs.rip, reply);
	return 0;

failed:
	exit->kind = VM_EXIT_OTHER;
	snprintf(exit->detail, sizeof(exit->detail),
		 "lost QEMU's gdb stub (did QEMU die?)");
	return -1;
}

/* TCG runs the vCPU on a thread named "CPU 0/TCG"; schedstat's first field
 * is the time it has spent on a CPU, in ns. */
static uint64_t qemu_vcpu_time_ns(struct vm *base)
{
	struct qemu_vm *vm = to_qemu(base);
	unsigned long long ns = 0;
	FILE *f;

	if (!vm->vcpu_schedstat[0]) {
		char dir[48], path[96], comm[32];
		struct dirent *e;
		DIR *d;

		snprintf(dir, sizeof(dir), "/proc/%ld/task", (long)vm->pid);
		d = opendir(dir);
		while (d && (e = readdir(d)) && !vm->vcpu_schedstat[0]) {
			snprintf(path, sizeof(path), "%s/%.16s/comm", dir,
				 e->d_name);
			f = fopen(path, "r");
			if (!f)
				continue;
			if (fgets(comm, sizeof(comm), f) &&
			    !strncmp(comm, "CPU 0/TCG", 9))
				snprintf(vm->vcpu_schedstat,
					 sizeof(vm->vcpu_schedstat),
					 "%.40s/%.16s/schedstat", dir,
					 e->d_name);
			fclose(f);
		}
		if (d)
			closedir(d);
	}
	f = vm->vcpu_schedstat[0] ? fopen(vm->vcpu_schedstat, "r") : NULL;
	if (f) {
		if (fscanf(f, "%llu", &ns) != 1)
			ns = 0;
		fclose(f);
	}
	return ns;
}

/* Hands the stopped CPU to a debugger: every breakpoint the back end set
 * removed, and QEMU's gdb stub moved to a TCP port on the loopback
 * interface. QEMU closes this back end's own gdb connection in the move;
 * the VM stays stopped until the debugger runs it. Nothing but vm_close may
 * follow. */
static int qemu_hand_over(struct vm *base, unsigned port, char *err,
			  size_t errlen)
{
	struct qemu_vm *vm = to_qemu(base);
	char cmd[64], said[256] = "";
	char packet[64];

	for (int i = 0; i < vm->narmed; i++) {
		snprintf(packet, sizeof(packet), "z0,%llx,1",
			 (unsigned long long)vm->armed[i]);
		if (ok_reply(vm, packet)) {
			snprintf(err, errlen,
				 "QEMU's gdb stub refused to remove a "
				 "breakpoint at 0x%llx",
				 (unsigned long long)vm->armed[i]);
			return -1;
		}
	}
	vm->narmed = vm->nuser_bp = 0;
	/* The stub's own socket first: QEMU 7.2 refuses a new gdbserver
	 * while the old one's chardev is there ("duplicate yank instance"). */
	qmp_hmp(&vm->qmp, "gdbserver none", said, sizeof(said));
	gdb_disconnect(&vm->gdb);
	snprintf(cmd, sizeof(cmd), "gdbserver tcp:127.0.0.1:%u", port);
	/* It prints where it waits: -1 here is its success. */
	qmp_hmp(&vm->qmp, cmd, said, sizeof(said));
	if (!strstr(said, "Waiting for gdb connection")) {
		/* QEMU's first line, without the reply's escapes. */
		said[strcspn(said, "\\\"\r\n")] = 0;
		snprintf(err, errlen,
			 "QEMU could not listen for gdb on 127.0.0.1:%u (%s): "
			 "give another port",
			 port, said[0] ? said : "no reply");
		return -1;
	}
	return 0;
}

static const struct vm_ops qemu_ops = {
	.close = qemu_close,
	.get_state = qemu_get_state,
	.set_state = qemu_set_state,
	.checkpoint = qemu_checkpoint,
	.release_checkpoint = qemu_release_checkpoint,
	.code_written = qemu_code_written,
	.note_code_sites = qemu_note_code_sites,
	.set_breakpoints = qemu_set_breakpoints,
	.pend_nmi = qemu_pend_nmi,
	.signal_mce = qemu_signal_mce,
	.raise_irq = qemu_raise_irq,
	.set_guest_debugregs = qemu_set_guest_debugregs,
	.disarm_guest_breakpoints = qemu_disarm_guest_breakpoints,
	.run = qemu_run,
	.vcpu_time_ns = qemu_vcpu_time_ns,
	.hand_over = qemu_hand_over,
};
