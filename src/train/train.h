/* Training, evaluation and synthesis over one run folder.
 *
 * A run folder holds: config.txt (the full TrainConfig), metrics.csv (one row per evaluation),
 * last.safetensors (parameters, AdamW moments, step, data-RNG state: enough to resume exactly),
 * best.safetensors (the parameters with the best IID-validation accuracy; OOD never chooses).
 * Both checkpoints are written atomically. */
#ifndef NEUROP_TRAIN_H
#define NEUROP_TRAIN_H
#include "engine/adamw.h"
#include "train/config.h"

typedef struct Run {
    TrainConfig cfg;
    Task task;
    Template tpl;
    Method m;
    AdamW opt;
    Rng data_rng; /* the training data stream (saved in checkpoints) */
    long step;
    double best_val;
    long best_step;
    double train_seconds; /* wall time spent in run_train, summed over resumes */
    char machine[320];    /* where its checkpoint was last written (cpu_describe; "" if not recorded) */
    Arena eval_arena;     /* reused by every evaluation (allocated on first use) */
    float *grad_ema;      /* with cfg.grokfast > 0: the gradients' EMA (saved in checkpoints), else NULL */
    float *focus_err;     /* with cfg.focus > 0: per train intent, its batches' error (focus.c), else NULL */
} Run;

/* The largest template a run trains (4,194,304 weights, 240 times the 1D-ARC target): the
 * meta-learners hold per-weight index and encoding arrays, so memory grows with |θ|. */
#define RUN_MAX_THETA (1 << 22)
/* Builds the task, template and method of c, with φ drawn from c->seed. */
int run_init(Run *r, const TrainConfig *c, Err *e);
void run_free(Run *r);
/* Opens a run folder: which = "best" or "last". On failure r holds nothing (run_free is safe). */
int run_open(Run *r, const char *dir, const char *which, Err *e);

typedef struct TrainOptions {
    const char *dir; /* run folder (created if missing) */
    int resume;      /* continue from dir/last.safetensors */
    int force;       /* without resume: delete a run the folder holds and start over */
    long steps;      /* with resume: train on to this many steps (0: the run's own count) */
    long stop_at;    /* > 0: stop once this step is done and saved, as if interrupted (returns 0) */
    int verbose;     /* 0: quiet, 1: progress (a live line on a terminal, log lines otherwise) */
    /* Called after each step is complete (r->step counts it), before the next one starts, the
     * candidates' steps included (restarts); NULL for none. A Ctrl-C it raises is seen by the next
     * step, which then saves and stops. */
    void (*after_step)(const Run *r, void *arg);
    void *after_step_arg;
} TrainOptions;
/* Trains to cfg.steps, holding a lock on the folder (dir/lock: a second trainer is refused with
 * the holder's pid). With cfg.restarts > 1 a new run first trains its candidates, each an ordinary
 * run folder dir/candidates/init-J (resumed if it exists), to step 4 × eval_every, writes
 * dir/candidates.csv (each one's IID and held validation there), and continues from the
 * candidate with the best held validation (the lowest J on a tie): its checkpoints and CSVs
 * become the run's, under the run's own config. Interrupted before that choice, --resume picks
 * the candidates up where they stopped. Without resume, r is a fresh run_init and a folder that already holds a run
 * is refused unless force. With resume, r is rebuilt from the folder's checkpoint; if r was
 * run_init'ed, its config must agree with the folder's (apart from the step count), and a
 * finished run trains nothing. Returns 0; 1 when interrupted (Ctrl-C: the checkpoint is saved
 * first); -1 with a message on error (a NaN/Inf loss stops the run and keeps the last good
 * checkpoint). */
int run_train(Run *r, const TrainOptions *o, Err *e);
/* Whether dir holds a run that --resume continues: a checkpoint, or a restarts run stopped while
 * its candidates trained. */
int run_resumable(const char *dir);

/* Exact match per intent on fixed evaluation sets. */
typedef struct IntentScore {
    Intent u;
    Split split;
    int n, correct;
    int held; /* a train intent kept out of training (hold): in held, not in iid */
} IntentScore;
typedef struct EvalReport {
    int n;
    IntentScore *items;
    double iid, ood;    /* means over intents */
    double iid_pooled;  /* correct / examples over all train intents: small intents (p = 2, 3, 5
                           have 1-3 test pairs) weigh by their examples, not as 1/22 each */
    double ood_ordinal; /* mean over the OOD intents that are ordinal (task_ood_ordinal) */
    double held;        /* mean over the train intents held out of training (hold > 0), on iid_split */
    int n_iid, n_ood, n_ood_ordinal, n_held;
} EvalReport;
/* iid_split: SPLIT_VAL or SPLIT_TEST for every train intent; with_ood adds every OOD intent on
 * SPLIT_OOD. iid and ood are means over intents; the held intents (hold) count in held alone, so
 * the IID-validation mean that chooses checkpoints is over the intents trained on. items is
 * allocated: eval_report_free. */
void run_evaluate(Run *r, Split iid_split, int with_ood, EvalReport *rep);
void eval_report_free(EvalReport *rep);
/* Accuracy of predictions on prepared examples of one intent (used for real 1D-ARC pairs too). */
int run_score(Run *r, Intent u, const Examples *ex);

/* Dense-product FLOPs of one training step (forward and backward) at the run's B and N. */
double run_step_flops(Run *r);
/* θ = M(U) for one intent: n_theta floats (not for direct). */
void run_synth(Run *r, Intent u, float *theta);
/* The same for the intent features at any x of a scalar-intent task (task_features_at), which need
 * not be one of its intents: the clock analysis's programs for moduli between the train primes. */
void run_synth_at(Run *r, double x, float *theta);
/* A demonstration task's test input tok (seq_len tokens) solved from its examples (demo:
 * demo_pairs * seq_len cells, in * 10 + out): the argmax colour of every cell into pred. theta
 * (n_theta floats, or NULL) gets the program made from the examples; direct makes none (it reads
 * the examples in context) and leaves theta alone. */
void run_solve_demo(Run *r, const int *demo, const int *tok, float *theta, int *pred);
/* Intent tokens the direct method prepends on Transformer tasks: fills itok (at most
 * MAX_INTENT_TOKENS), returns their count. */
#define MAX_INTENT_TOKENS 4
int intent_tokens(const Task *t, Intent u, int *itok);

#endif
