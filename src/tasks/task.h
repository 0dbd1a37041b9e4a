/* The paper's three benchmark tasks (SUMFIRST-n, ADDMOD-p, 1D-ARC mixed) as deterministic
 * generators, the real 1D-ARC task files as an external test, and a user's own task from a
 * JSON Lines file (TASK_FILE, taskfile.c; docs/tasks.md "Your own task").
 *
 * What this header promises:
 * - Every example comes from an explicit Rng: same seed -> same data, on every machine.
 * - Splits never overlap. SPLIT_TRAIN, SPLIT_VAL and SPLIT_TEST are for train intents (VAL and
 *   TEST are the IID splits: seen intents, inputs never drawn for training); SPLIT_OOD is for OOD
 *   intents only, which no training, early-stopping or model-selection code may ever draw.
 *   Asking a train intent for SPLIT_OOD, or an OOD intent for another split, is a caller bug.
 * - Intent features are a small fixed vector per task (docs/tasks.md), the same for every method.
 * - Scoring is exact match of the whole output of one example.
 * docs/tasks.md describes the generators, split rules and feature choices. */
#ifndef NEUROP_TASK_H
#define NEUROP_TASK_H
#include "engine/err.h"
#include "engine/rng.h"
#include <stddef.h>
#include <stdint.h>

typedef enum { TASK_SUMFIRST, TASK_ADDMOD, TASK_ARC, TASK_FILE, TASK_ARC_DEMO } TaskKind;
typedef enum { SPLIT_TRAIN, SPLIT_VAL, SPLIT_TEST, SPLIT_OOD } Split;

/* 1D-ARC families, in the order of the family one-hot feature. */
enum { ARC_MOVE, ARC_RECOLOR, ARC_FLIP, ARC_FILL, ARC_HOLLOW, ARC_MIRROR, ARC_DENOISE, ARC_N_FAMILIES };
#define ARC_MAX_LEN 33 /* longest generated row; the default ARC seq_len */
#define ARC_COLOURS 10 /* colour 0 is the background */

/* family: 0 for SUMFIRST/ADDMOD, an ARC_* index for ARC. param: n, p, k (move), c (recolor),
 * or -1 for the parameter-free ARC families. */
typedef struct Intent {
    int family;
    int param;
} Intent;

typedef struct TaskFile TaskFile; /* a loaded task file (taskfile.c) */

typedef struct Task {
    TaskKind kind;
    const char *name; /* whose rows, template and defaults: "sumfirst", "addmod", "arc", "arc-demo" (also
                         arc-demo-all's); a task file's "task" name */
    const char *id;   /* what task_get takes to make this task again: the built-in's id ("arc-demo-all"),
                         or the file's absolute path */
    int n_feat;       /* intent feature dimension */
    int seq_len;      /* tokens per input: 0 for SUMFIRST, 3 for ADDMOD, ARC_MAX_LEN for ARC.
                         A caller may raise an ARC task's seq_len (and out_len with it) for a
                         larger template; rows are then padded further. */
    int in_dim;       /* float inputs per example: 10 for SUMFIRST (and a file task's MLP inputs), 0 for
                         token tasks; in_dim > 0 means x/y examples, scored as regression */
    int vocab;        /* token ids 0..vocab-1: ADDMOD 101 ('=' is 100), ARC 10, SUMFIRST 0 */
    int n_classes;    /* ADDMOD 100, ARC 10, SUMFIRST 0 (regression) */
    int out_len;      /* labels per example: ADDMOD 1 (read at the last position), ARC seq_len,
                         SUMFIRST 1 (the float y); a file task's outputs per example */
    int n_train, n_ood;
    const Intent *train, *ood; /* the intent lists; static storage (a file task: owned by file) */
    TaskFile *file;            /* TASK_FILE only: the loaded file, freed by task_free */
    int demo_pairs;            /* demonstration tasks (arc-demo): example pairs each program is made
                                  from (3); 0 for the intent tasks */
    int relabel;               /* arc-demo: each task's colours renamed by first appearance
                                  (arc_demo_colours) before a network sees them; the run's setting */
    uint64_t *excluded;        /* arc-demo: hashes of every real 1D-ARC input row as the network sees
                                  it, as is and relabelled (two salts), sorted; a generated task
                                  holding one is never a training task (task_free; NULL from
                                  task_get_to_score) */
    int n_excluded;
} Task;

/* "sumfirst" | "addmod" | "arc" | "arc-demo" | "arc-demo-all" (arc-demo with all 18 families trained
 * and none held out), case-insensitive; aliases "sumfirst-n", "addmod-p", "1d-arc", "1darc",
 * "arc1d", "1d-arc-demo", "1d-arc-demo-all"; or the path of a task file (ends in .jsonl), loaded
 * and checked whole.
 * Unknown name or bad file -> -1 with one line in e (for a file: path, line and field). */
int task_get(const char *name, Task *out, Err *e);
/* task_get for a task that is only scored, solved or named, never trained on: arc-demo then skips
 * reading the real 1D-ARC files, whose inputs only a draw from the train split must avoid (such a
 * draw from this task stops the program). */
int task_get_to_score(const char *name, Task *out, Err *e);
/* The id task_get gives a built-in task of that name or alias ("1d-arc" -> "arc"), without making
 * the task (arc-demo's reads the real 1D-ARC files); NULL when name is none of them. */
const char *task_builtin_id(const char *name);
/* What to call the task in a report: a built-in's id, a task file's "task" name. */
const char *task_label(const Task *t);
/* Frees what task_get loaded (a file task's data); a no-op for the built-in tasks. */
void task_free(Task *t);
/* A file task's template text (its header's "template"), or NULL for the built-in tasks. */
const char *task_template(const Task *t);
/* Intent tokens for the direct method on a file task with a Transformer template: one token per
 * intent field, ids from t->vocab up (the value's rank among the field's values). Returns the
 * count and sets *extra_vocab; -1 when there are more than max fields. */
int taskfile_intent_tokens(const Task *t, Intent u, int *itok, int max, int *extra_vocab);
/* n_feat floats describing u (docs/tasks.md). */
void task_features(const Task *t, Intent u, float *feat);
/* Whether t's intent is one number on a line (SUMFIRST's n, ADDMOD's p), so that its features
 * are defined between intents too. */
int task_scalar_intent(const Task *t);
/* The features of the intent "x" for such a task, x any real > 0: task_features at an integer. */
void task_features_at(const Task *t, double x, float *feat);
/* How many distinct training inputs train intent u has: ADDMOD the p² pairs less its val and test
 * pairs, a task file its train examples; 0 where the generator's supply is unbounded (SUMFIRST,
 * ARC, arc-demo). The trainer can draw intents in proportion to it (intent_mix). */
long task_train_size(const Task *t, Intent u);
/* Whether t->train[i] is one of the `hold` train intents kept out of training to measure
 * generalization across intents without the OOD intents (the setting `hold`): evenly spaced
 * through the train list, index round((j + 1) · n_train / (hold + 1)) for j < hold. */
int task_held(const Task *t, int hold, int i);
/* The cumulative probabilities of drawing each train intent (free() it): q, a mix of the uniform
 * draw (1 − mix) and of the draw ∝ task_train_size (mix), held intents never; then with
 * probability family_mix a family is drawn uniformly and an intent within it by q (1D-ARC: each
 * of its 7 rules as often, whether it has 1 value or 8). NULL for the plain uniform draw: mix 0
 * (or a task whose supply is unbounded), family_mix 0 and hold 0. */
double *task_intent_cdf(const Task *t, float mix, float family_mix, int hold);
/* A train intent drawn from r, as its index into t->train: from cdf, or uniformly when it is NULL
 * (one rng_int, the stream of every run before intent_mix). */
int task_draw_intent(const Task *t, const double *cdf, Rng *r);

/* A batch of examples. Exactly one input array is non-NULL: x (float [cap, in_dim], in_dim > 0) or
 * tok (int [cap, seq_len]); exactly one label array: y (float [cap, out_len], in_dim > 0) or
 * lab (int [cap, out_len], -1 = ignore, e.g. ARC cells beyond the row's length).
 * n is the number of valid examples, cap the allocated number. */
typedef struct Examples {
    int n, cap;
    float *x;
    int *tok;
    float *y;
    int *lab;
    int *demo; /* demonstration tasks: [cap, demo_pairs * seq_len], the example pairs the program of
                  each row is made from, a cell as in * ARC_COLOURS + out (0 beyond the row) */
} Examples;
void examples_alloc(const Task *t, int cap, Examples *ex);
void examples_free(Examples *ex);

/* n (<= ex->cap) random examples of intent u from split s, drawn from r; sets ex->n = n.
 * A demonstration task (arc-demo): the n rows are the pairs of one new task of family u, its
 * examples then its test pair (again from the first when n > 4), each row with that task's
 * examples as its demonstrations: one program, n rows to score it on. */
void task_sample(const Task *t, Intent u, Split s, Rng *r, int n, Examples *ex);

/* A fixed, deterministic evaluation set of intent u from split s: allocates ex (free it with
 * examples_free) and returns its size, at most max_n, without duplicate inputs. ADDMOD: all pairs
 * of that split when they are at most max_n, else a seeded subset of them. SUMFIRST and ARC:
 * max_n distinct inputs drawn with a generator seeded by (seed, u, s); fewer only when the split
 * has fewer distinct inputs. arc-demo: max_n distinct tasks of family u, a row each: its test
 * pair, with its examples as the row's demonstrations. */
int task_eval_set(const Task *t, Intent u, Split s, int max_n, uint64_t seed, Examples *ex);

/* The split that example i's input belongs to for intent u (SPLIT_OOD for OOD intents); for
 * arc-demo, the split of the task the row's demonstrations come from. */
Split task_split_of(const Task *t, Intent u, const Examples *ex, int i);

/* Intents as users type them: SUMFIRST "n=4" or "4"; ADDMOD "p=83" or "83"; ARC "move:k=3",
 * "recolor:c=5", "flip", "fill", "hollow", "mirror", "denoise" (case-insensitive, spaces ignored).
 * Unknown family or out-of-range value -> -1 with a message that lists what is valid. */
int task_intent_parse(const Task *t, const char *text, Intent *u, Err *e);
void task_intent_format(const Task *t, Intent u, char *buf, size_t len);
int task_is_ood(const Task *t, Intent u);
/* An OOD intent a method can reach by generalizing along an ordered intent (a prime, n, a shift k),
 * not an unseen category (a 1D-ARC colour never trained on, which no method can extrapolate). */
int task_ood_ordinal(const Task *t, Intent u);
int task_intent_valid(const Task *t, Intent u); /* a train or an OOD intent of t */
const char *split_name(Split s);                /* "train" "val" "test" "ood" */
const char *arc_family_name(int family);        /* "move" ... "denoise" */

/* Exact match of example i. pred: SUMFIRST one float (solved when round(pred) = y); a task file's
 * regression out_len floats (each within the file's tolerance of y); otherwise
 * [out_len, n_classes] logits, row-major (ADDMOD: argmax = label; ARC: the argmax of every cell
 * whose label is not -1 is right). */
int task_correct(const Task *t, const float *pred, const Examples *ex, int i);
/* The floats of one example's prediction as task_correct reads it: out_len for a regression
 * (SUMFIRST: 1), out_len × n_classes logits otherwise. */
int task_pred_width(const Task *t);

/* The independent reference rule of an ARC intent (family + param): writes the output row of
 * in[0..len) into out[0..len). It reads the rule's objects off the input and shares no code
 * with the generators; the tests check both generated and real pairs against it. */
void arc_rule(Intent u, const int *in, int len, int *out);

/* ---- Real 1D-ARC task files ------------------------------------------------------------- */

/* One input/output pair of a real task file. */
typedef struct ArcPair {
    char family[64]; /* from the file name: "1d_move_1p" for .../1d_move_1p_7.json */
    char *path;      /* the file it came from */
    int is_test;     /* 0: from "train", 1: from "test" */
    int index;       /* position in that list */
    int len;         /* cells in the row (input and output have the same length) */
    int *in, *out;   /* len cells each, colours 0..9 */
} ArcPair;
typedef struct ArcSet {
    int n, cap;
    ArcPair *pairs;
} ArcSet; /* zero-initialize before use */

/* Appends every pair of one task file to set. A file that cannot be read or is not a valid ARC
 * task (not JSON, no "train"/"test" list, not a one-row grid, a cell that is not an integer in
 * 0..9, input and output of different length) -> -1 with the path and what is wrong; set then
 * keeps only the pairs of earlier files. */
int arc_load_file(const char *path, ArcSet *set, Err *e);
/* arc_load_file on every *.json below dir (recursively, in sorted order). */
int arc_load_dir(const char *dir, ArcSet *set, Err *e);
void arc_set_free(ArcSet *set);

/* The intent of a real family: 1d_move_1p/2p/3p -> move:k=1/2/3, 1d_flip -> flip, 1d_fill -> fill,
 * 1d_hollow -> hollow, 1d_mirror -> mirror, 1d_denoising_1c -> denoise. Returns 1 and sets *u for
 * these, 0 for every other family. */
int arc_family_intent(const char *family, Intent *u);

/* Writes pair p as example i (< ex->cap) of ex (an ARC task's Examples; ex->n becomes at least
 * i + 1): the row padded with background 0 to t->seq_len, labels -1 beyond its length. A row
 * longer than t->seq_len is refused (-1, with the path and both lengths in e), never truncated. */
int arc_pair_example(const Task *t, const ArcPair *p, Examples *ex, int i, Err *e);

/* The folder data/<name> that ships with neurop (name "1d-arc": the real 1D-ARC files), written
 * into buf: $NEUROP_DATA/<name> when NEUROP_DATA is set (and only there), else data/<name> in the
 * folder above the executable's (build/neurop -> data/), else data/<name> in the working
 * directory. Not found -> -1 with where it looked in e. */
int data_dir(const char *name, char *buf, size_t len, Err *e);

#endif
