/* Task files (src/tasks/taskfile.c): the examples in examples/ load with the splits the docs
 * promise; bad files are refused with one line naming line and field; every method trains,
 * evaluates and synthesizes on a task file, and val_intents.csv records each train intent. */
#include "test.h"
#include "train/train.h"
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    NP_ASSERT(f, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

static void tmp_path(char *buf, size_t n, const char *tag) {
    snprintf(buf, n, "/tmp/neurop_test_taskfile_%ld_%s.jsonl", (long)getpid(), tag);
}

TEST(taskfile_examples_load_with_disjoint_seeded_splits) {
    const char *files[] = {"examples/poly.jsonl", "examples/count.jsonl"};
    const int n_train[] = {25, 4}, n_ood[] = {3, 1}, per_intent[] = {100, 400};
    for (int k = 0; k < 2; k++) {
        Task t, t2;
        Err e = {{0}};
        if (task_get(files[k], &t, &e)) {
            CHECK(0, "%s: %s", files[k], e.msg);
            continue;
        }
        CHECK(t.kind == TASK_FILE && t.n_train == n_train[k] && t.n_ood == n_ood[k], "%s: %d train, %d OOD intents",
              files[k], t.n_train, t.n_ood);
        CHECK(t.id[0] == '/' && strstr(t.id, files[k]), "%s: id '%s' is the absolute path", files[k], t.id);
        CHECK(k == 0 ? (t.in_dim == 1 && t.out_len == 1 && t.n_feat == 2)
                     : (t.seq_len == 8 && t.vocab == 6 && t.n_classes == 9 && t.out_len == 1 && t.n_feat == 1),
              "%s: shapes", files[k]);
        CHECK(task_get(files[k], &t2, &e) == 0, "second load");
        for (int i = 0; i < t.n_train; i++) {
            Examples s[3], s2;
            int n = 0;
            for (int sp = 0; sp < 3; sp++) n += task_eval_set(&t, t.train[i], (Split)sp, 100000, 1, &s[sp]);
            CHECK(n == per_intent[k], "%s intent %d: %d examples over the splits, want %d", files[k], i, n,
                  per_intent[k]);
            CHECK(s[SPLIT_VAL].n == per_intent[k] / 10 && s[SPLIT_TEST].n == per_intent[k] / 10,
                  "10%% validation and test");
            /* the same file gives the same split; every example lies in the split it was drawn from */
            task_eval_set(&t2, t.train[i], SPLIT_VAL, 100000, 1, &s2);
            CHECK(s2.n == s[SPLIT_VAL].n && (k == 0 ? !memcmp(s2.x, s[SPLIT_VAL].x, s2.n * sizeof(float))
                                                    : !memcmp(s2.tok, s[SPLIT_VAL].tok, s2.n * 8 * sizeof(int))),
                  "validation split differs between two loads");
            for (int sp = 0; sp < 3 && k == 0; sp++) /* poly's inputs are distinct within an intent */
                for (int j = 0; j < s[sp].n; j++)
                    CHECK(task_split_of(&t, t.train[i], &s[sp], j) == (Split)sp, "example in the wrong split");
            for (int sp = 0; sp < 3; sp++) examples_free(&s[sp]);
            examples_free(&s2);
        }
        Examples o;
        CHECK(task_eval_set(&t, t.ood[0], SPLIT_OOD, 100000, 1, &o) == per_intent[k], "OOD intent: all its examples");
        examples_free(&o);
        task_free(&t);
        task_free(&t2);
    }
}

TEST(taskfile_intents_parse_format_and_features) {
    Task t;
    Err e = {{0}};
    if (task_get("examples/poly.jsonl", &t, &e)) {
        CHECK(0, "%s", e.msg);
        return;
    }
    Intent u;
    char buf[128];
    CHECK(task_intent_parse(&t, " B = 0.75 ,a=0.25", &u, &e) == 0 && task_is_ood(&t, u), "a=0.25,b=0.75: %s", e.msg);
    task_intent_format(&t, u, buf, sizeof buf);
    CHECK(!strcmp(buf, "a=0.25,b=0.75"), "canonical '%s'", buf);
    float f[2];
    task_features(&t, u, f);
    CHECK_NEAR(f[0], 0.25, 1e-7); /* scaled by the largest |a| of the train intents, 1 */
    CHECK_NEAR(f[1], 0.75, 1e-7);
    const char *bad[] = {"a=0.3,b=0.75", "a=0.25", "a=0.25,b=0.75,c=1", "a=x,b=1", "a=1,a=1,b=1", ""};
    for (int i = 0; i < 6; i++) {
        e.msg[0] = 0;
        CHECK(task_intent_parse(&t, bad[i], &u, &e) == -1 && strstr(e.msg, "invalid poly intent") &&
                  strstr(e.msg, "OOD a=0.25,b=0.75"),
              "'%s' -> '%s'", bad[i], e.msg);
    }
    task_free(&t);
}

/* A task file with a category field, for the refusals and the training test. */
#define HEAD_CAT                                                                                             \
    "{\"task\": \"signs\", \"template\": \"mlp 1-8-1\", \"loss\": \"mse\", \"tolerance\": 0.1, "             \
    "\"intent\": {\"dir\": [\"up\", \"down\"], \"s\": \"number\"}, "                                         \
    "\"train\": [{\"dir\": \"up\", \"s\": 1}, {\"dir\": \"down\", \"s\": 1}, {\"dir\": \"up\", \"s\": 2}], " \
    "\"ood\": [{\"dir\": \"down\", \"s\": 2}]}\n"

static void expect_refused(TestCtx *t_, const char *text, const char *msg) {
    char path[256];
    tmp_path(path, sizeof path, "bad");
    write_file(path, text);
    Task t;
    Err e = {{0}};
    CHECK(task_get(path, &t, &e) == -1, "accepted a file that should fail with '%s'", msg);
    CHECK(strstr(e.msg, msg) && strstr(e.msg, path) && !strchr(e.msg, '\n'), "message '%s' lacks '%s'", e.msg, msg);
    unlink(path);
}

TEST(taskfile_bad_files_name_line_and_field) {
    char ok3[1024];
    snprintf(ok3, sizeof ok3, "%s", "{\"intent\": {\"dir\": \"up\", \"s\": 1}, \"input\": [0.5], \"output\": [0.5]}\n");
    expect_refused(t_, "", "empty");
    expect_refused(t_, "[1]\n", ":1: the header is not a JSON object");
    expect_refused(t_,
                   "{\"template\": \"mlp 1-8-1\", \"loss\": \"mse\", \"intent\": {\"a\": \"number\"}, \"train\": "
                   "[{\"a\": 1}], \"colour\": 1}\n",
                   ":1: field 'colour': unknown header field");
    expect_refused(t_, "{\"template\": \"mlp 1-0-1\", \"loss\": \"mse\"}\n", ":1: field 'template': template: width=0");
    expect_refused(t_, "{\"template\": \"mlp 1-8-1\", \"loss\": \"ce\"}\n",
                   ":1: field 'loss': \"ce\" needs a Transformer template");
    expect_refused(t_, "{\"template\": \"mlp 1-8-1\", \"loss\": \"mse\", \"intent\": {\"a\": \"numbr\"}}\n",
                   ":1: field 'intent.a': want \"number\" or a list");
    expect_refused(t_,
                   "{\"template\": \"mlp 1-8-1\", \"loss\": \"mse\", \"intent\": {\"a\": \"number\"}, \"train\": "
                   "[{\"a\": 1}, {\"a\": 1}]}\n",
                   ":1: field 'train[1]': the same intent is listed twice");
    expect_refused(t_,
                   "{\"template\": \"mlp 1-8-1\", \"loss\": \"mse\", \"intent\": {\"a\": \"number\"}, \"train\": "
                   "[{\"a\": \"x\"}]}\n",
                   ":1: field 'train[0].a': want a number");
    char buf[4096];
    snprintf(buf, sizeof buf,
             "%s%s\n{\"intent\": {\"dir\": \"up\", \"s\": 1}, \"input\": [0.5, 1], \"output\": [0.5]}\n", HEAD_CAT,
             ok3);
    expect_refused(t_, buf, ":4: field 'input': want 1 number, got 2");
    snprintf(buf, sizeof buf, "%s{\"intent\": {\"dir\": \"left\", \"s\": 1}, \"input\": [0.5], \"output\": [0.5]}\n",
             HEAD_CAT);
    expect_refused(t_, buf, ":2: field 'intent.dir': want one of the header's categories");
    snprintf(buf, sizeof buf, "%s{\"intent\": {\"dir\": \"up\", \"s\": 3}, \"input\": [0.5], \"output\": [0.5]}\n",
             HEAD_CAT);
    expect_refused(t_, buf, ":2: field 'intent': not one of the header's train or ood intents");
    snprintf(buf, sizeof buf, "%s{\"intent\": {\"dir\": \"up\", \"s\": 1}, \"input\": [0.5]}\n", HEAD_CAT);
    expect_refused(t_, buf, ":2: field 'output': missing");
    snprintf(buf, sizeof buf, "%s{\"intent\": {\"dir\": \"up\", \"s\": 1}, \"input\": [0.5], \"output\": [0.5]} x\n",
             HEAD_CAT);
    expect_refused(t_, buf, ":2: text after the JSON object");
    snprintf(buf, sizeof buf, "%s{\"intent\": {\"dir\": \"up\", \"s\": 1}, \"input\": [0.5, \"output\": [0.5]}\n",
             HEAD_CAT);
    expect_refused(t_, buf, ":2: not valid JSON");
    snprintf(buf, sizeof buf, "%s%s", HEAD_CAT, ok3);
    expect_refused(t_, buf, "train intent dir=up,s=1 has 1 examples; it needs at least 3");
    expect_refused(t_,
                   "{\"template\": \"transformer vocab=4 len=2 d=4 heads=1 mlp=4 classes=3\", \"loss\": \"ce\", "
                   "\"intent\": {\"a\": \"number\"}, "
                   "\"train\": [{\"a\": 1}]}\n{\"intent\": {\"a\": 1}, \"input\": [1, 4], \"output\": [0]}\n",
                   ":2: field 'input': value 2 (4) is not an integer in [0, 4)");
    expect_refused(t_,
                   "{\"template\": \"transformer vocab=4 len=2 d=4 heads=1 mlp=4 classes=3\", \"loss\": \"ce\", "
                   "\"intent\": {\"a\": \"number\"}, "
                   "\"train\": [{\"a\": 1}]}\n{\"intent\": {\"a\": 1}, \"input\": [1, 2], \"output\": [-1]}\n",
                   ":2: field 'output': value 1 (-1) is not an integer in [0, 3)");
    Task t;
    Err e = {{0}};
    CHECK(task_get("/nonexistent/x.jsonl", &t, &e) == -1 && strstr(e.msg, "/nonexistent/x.jsonl"), "missing file: '%s'",
          e.msg);
    CHECK(task_get("nonsense", &t, &e) == -1 && strstr(e.msg, "PATH.jsonl"), "unknown task: '%s'", e.msg);
}

/* y = s*x (up) or -s*x (down), 40 examples per intent. */
static void write_signs(const char *path) {
    FILE *f = fopen(path, "w");
    NP_ASSERT(f, "cannot write %s", path);
    fputs(HEAD_CAT, f);
    const char *dirs[] = {"up", "down", "up", "down"};
    const int s[] = {1, 1, 2, 2};
    for (int u = 0; u < 4; u++)
        for (int i = 0; i < 40; i++) {
            double x = -1 + 2.0 * i / 39;
            fprintf(f, "{\"intent\": {\"dir\": \"%s\", \"s\": %d}, \"input\": [%.6f], \"output\": [%.6f]}\n", dirs[u],
                    s[u], x, (u % 2 ? -1 : 1) * s[u] * x);
        }
    fclose(f);
}

TEST(taskfile_every_method_trains_evaluates_and_synthesizes) {
    char path[256], dir[] = "/tmp/neurop-test-taskfile-XXXXXX";
    tmp_path(path, sizeof path, "signs");
    write_signs(path);
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp");
        return;
    }
    for (int m = 0; m < METHOD_COUNT; m++) {
        TrainConfig c;
        Err e = {{0}};
        if (config_defaults(path, (MethodKind)m, &c, &e)) {
            CHECK(0, "%s: %s", method_id(m), e.msg);
            continue;
        }
        CHECK(!strcmp(c.tpl, "mlp 1-8-1 act=relu") && c.task[0] == '/', "%s: template '%s', task '%s'", method_id(m),
              c.tpl, c.task);
        c.steps = 6;
        c.eval_every = 3;
        c.ckpt_every = 3;
        c.B = 2;
        c.N = 8;
        c.warmup = 0;
        Run r;
        TrainOptions o = {.dir = dir, .verbose = 0};
        if (run_init(&r, &c, &e) || run_train(&r, &o, &e)) {
            CHECK(0, "%s: %s", method_id(m), e.msg);
            run_free(&r);
            continue;
        }
        EvalReport rep;
        run_evaluate(&r, SPLIT_TEST, 1, &rep);
        CHECK(rep.n_iid == 3 && rep.n_ood == 1 && rep.items[3].n == 40 && rep.items[0].n == 4, "%s: eval sizes",
              method_id(m));
        run_free(&r);
        /* the run folder reopens from its checkpoint (the config names the task file) */
        Run back;
        if (run_open(&back, dir, "last", &e)) {
            CHECK(0, "%s: reopen: %s", method_id(m), e.msg);
            continue;
        }
        CHECK(back.task.kind == TASK_FILE && back.step == 6, "%s: reopened run", method_id(m));
        if (m != METHOD_DIRECT) {
            Intent u;
            float *theta = xmalloc(back.tpl.n_theta * sizeof *theta);
            CHECK(task_intent_parse(&back.task, "dir=down,s=2", &u, &e) == 0, "%s", e.msg);
            run_synth(&back, u, theta);
            int finite = 1;
            for (long i = 0; i < back.tpl.n_theta; i++) finite &= isfinite(theta[i]);
            CHECK(finite, "%s: synthesized θ is not finite", method_id(m));
            free(theta);
        }
        run_free(&back);
        /* val_intents.csv: a header with the three train intents, then one row per evaluation */
        char csv[512], line[512];
        snprintf(csv, sizeof csv, "%s/val_intents.csv", dir);
        FILE *f = fopen(csv, "r");
        int rows = 0;
        if (f && fgets(line, sizeof line, f))
            CHECK(!strcmp(line, "step,\"dir=up,s=1\",\"dir=down,s=1\",\"dir=up,s=2\"\n"), "header '%s'", line);
        while (f && fgets(line, sizeof line, f)) rows++;
        if (f) fclose(f);
        CHECK(rows == 2, "%s: %d rows in val_intents.csv, want 2", method_id(m), rows);
        DIR *d = opendir(dir);
        struct dirent *de;
        char p[1024];
        while (d && (de = readdir(d))) {
            if (de->d_name[0] == '.') continue;
            snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
            unlink(p);
        }
        if (d) closedir(d);
    }
    rmdir(dir);
    unlink(path);
}
