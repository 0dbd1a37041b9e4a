/* Everything that defines a training run, as one struct with a text form (key=value ...), so a
 * run folder and every checkpoint carry the exact configuration that made them. */
#ifndef NEUROP_CONFIG_H
#define NEUROP_CONFIG_H
#include "meta/meta.h"
#include "tasks/task.h"

typedef struct TrainConfig {
    char task[512]; /* sumfirst | addmod | arc | the absolute path of a task file (.jsonl) */
    MethodKind method;
    char tpl[256]; /* target template text */
    MetaConfig meta;
    unsigned long seed;
    long steps; /* optimizer steps */
    int B, N;   /* intents per batch, examples per intent */
    /* examples per intent from the choice step on (config_choice_step: where restarts choose);
     * 0: N throughout */
    int N_after;
    float lr, lr_min, wd, clip;
    /* AdamW's second-moment decay (β₁ is 0.9) */
    float beta2;
    /* meta-learners: + theta_l2/2 · (mean square of the generated weight matrices, above
     * theta_ms), per program; theta_ms is the mean square the penalty leaves free (0: it acts on
     * all of it) */
    float theta_l2, theta_ms;
    /* train intents drawn (1 − intent_mix) uniformly, intent_mix ∝ their distinct training inputs
     * (task_train_size; uniform where a task's supply is unbounded) */
    float intent_mix;
    /* with probability family_mix a step's intent is drawn as a family uniformly, then an intent
     * of it (task_intent_cdf): 1D-ARC's rules as often as each other, not in proportion to how
     * many values each has */
    float family_mix;
    /* with probability focus a step's intent is drawn instead in proportion to how often the
     * training batches still get it wrong (focus.c: an average over its recent batches); 0: off */
    float focus;
    /* train intents kept out of training and scored apart (task_held): a measure of generalization
     * across intents that needs no OOD intent */
    int hold;
    /* Grokfast-EMA: each gradient gets grokfast × an average of the gradients (decay
     * grokfast_alpha per step) added before clipping; 0: off */
    float grokfast, grokfast_alpha;
    /* + interp × the mean square of θ(U(x)) − ((1 − s)·θ(U(a)) + s·θ(U(b))) at a point x = a + s(b − a)
     * between two neighbouring trained intents a < b, drawn each step (task_scalar_intent tasks
     * only); 0: off. A generator that snaps each intent to the nearest trained one pays for it. */
    float interp;
    /* restarts > 1: the run first trains `restarts` candidates (the same run with init = 0, 1, ...)
     * to their 4th validation (40% of the steps), keeps the one whose held intents score best
     * (needs hold >= 1) and trains it on; 1: off. init: which draw of the initial parameters
     * (0: the seed's own, as before the setting existed) */
    int restarts, init;
    /* arc-demo: each task's colours renamed by first appearance before the network sees them
     * (arc_demo_colours; docs/tasks.md), 1; as they are, 0 */
    int relabel;
    long warmup;
    long eval_every; /* IID-validation evaluation (and best-checkpoint choice) period */
    long ckpt_every;
    int eval_n; /* examples per intent in evaluation sets */
} TrainConfig;

/* The defaults for (task, method): docs/defaults.md explains each choice. Only IID validation
 * chose them; OOD intents never did. */
int config_defaults(const char *task, MethodKind method, TrainConfig *c, Err *e);
/* "key=value key=value ..." (every field) and back. config_parse applies the keys onto c; the
 * text must hold every key exactly once. */
void config_format(const TrainConfig *c, char *buf, size_t len);
int config_parse(const char *text, TrainConfig *c, Err *e);
/* Sets the step count and what follows from it: warmup 5%, `evals` IID-validation evaluations
 * (and checkpoints) over the run. */
void config_set_steps(TrainConfig *c, long steps, long evals);
/* The step where restarts choose their candidate (the 4th validation, 40% of the steps) and
 * N_after takes over from N. */
long config_choice_step(const TrainConfig *c);
/* Examples per intent of the training step that follows step `step` (0-based count of steps done). */
int config_N_at(const TrainConfig *c, long step);
/* Applies one "key=value" override (the CLI's --set). */
int config_set(TrainConfig *c, const char *kv, Err *e);
/* The first setting in which a and b differ, apart from the step count and what follows from it
 * (steps, warmup, eval_every, ckpt_every: a resumed run may be extended), written to what as
 * "key=A_VALUE, not key=B_VALUE"; returns 1 then, 0 when they agree. */
int config_conflict(const TrainConfig *a, const TrainConfig *b, char *what, size_t n);

#endif
