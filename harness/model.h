/* The architectural model: what the CPU does with an event that becomes
 * pending at an instruction boundary, decided from the vCPU state there
 * (shadow, NMI masking, RF, TF, MCG_STATUS.MCIP, CR4.MCE). A leaf module:
 * it judges state, it never runs anything.
 *
 * Where it says an event is held (DEFER, LATCH), the harness holds it and
 * injects it at the first later boundary where the model says DELIVER,
 * rather than leaving the deferral to the hypervisor: kvm_pvm delivers
 * deferred NMIs late, and holding them host-side is right on hardware too.
 */
#ifndef IST_MODEL_H
#define IST_MODEL_H

#include "../guest/ist_abi.h"
#include "../injectors/injector.h"
#include "vm.h"

enum model_outcome {
	MODEL_DELIVER,	/* delivered here, before this boundary's instruction */
	MODEL_DEFER,	/* held past this instruction (MOV SS / STI shadow) */
	MODEL_LATCH,	/* NMI blocked: latched until the next IRET */
	MODEL_MASKED,	/* a maskable interrupt while IF=0: held until IF=1 */
	MODEL_SHUTDOWN, /* the CPU must shut down (#MC with MCIP=1, CR4.MCE=0)
			 */
	MODEL_NO_EVENT, /* nothing is delivered (a corrected #MC fills its bank)
			 */
	MODEL_IMPOSSIBLE, /* the cause cannot exist at this boundary */
};

/* Decides for one injection; why gets a short reason for the report. */
enum model_outcome model_decide(const struct vcpu_state *st,
				const struct injection *inj, const char **why);

const char *model_outcome_name(enum model_outcome o);

#define RFLAGS_TF	 (1ULL << 8)
#define RFLAGS_IF	 (1ULL << 9)
#define RFLAGS_DF	 (1ULL << 10)
#define RFLAGS_RF	 (1ULL << 16)
#define RFLAGS_AC	 (1ULL << 18)
#define CR4_MCE		 (1ULL << 6)
#define MCI_STATUS_VAL	 (1ULL << 63)
#define MCI_STATUS_UC	 (1ULL << 61)
#define MCI_STATUS_EN	 (1ULL << 60)
#define MCI_STATUS_MISCV (1ULL << 59)
#define MCI_STATUS_ADDRV (1ULL << 58)
#define MCI_STATUS_PCC	 (1ULL << 57)
#define MCI_STATUS_S	 (1ULL << 56)
#define MCI_STATUS_AR	 (1ULL << 55)
#define DR6_BS		 (1ULL << 14)

#endif
