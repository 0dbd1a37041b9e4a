/* A run folder never loses work and never mixes two runs (through the neurop command, as a
 * user meets it):
 * - training into a folder that holds a run is refused, naming the folder, --resume and
 *   --force; the run there is untouched; --force starts over from an empty folder;
 * - --resume refuses another task/method/seed/setting, says when a run is already finished,
 *   can only extend a run (config.txt then says the new step count), and drops metrics rows
 *   written after the last checkpoint (a step redone is not written twice);
 * - a second trainer in a folder is refused with the holder's pid (flock on DIR/lock);
 * - an --out of any length is used as given, not cut short;
 * - stale temporary files of a crashed write are removed;
 * - a run interrupted before its first evaluation says so and how to resume. */
#include "test.h"
#include "cli.h"
#include "io/fileio.h"
#include "train/train.h"
#include <cJSON.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* A tiny Meta-GNN run on SUMFIRST: a fraction of a second. */
#define TINY \
    "train --task sumfirst --method gnn --quiet --set width=8 --set rounds=1 --set B=2 --set N=8 --set eval_n=16"

static char *tmpdir(char *buf, size_t n, const char *tag) {
    snprintf(buf, n, "/tmp/neurop-test-%s-XXXXXX", tag);
    return mkdtemp(buf);
}
/* A new folder /tmp/neurop-test-TAG-* holding a TINY run of `steps` steps: 0, or -1 (failed, checked). */
static int tiny_run(TestCtx *t_, char *dir, size_t n, const char *tag, int steps) {
    char args[1024], out[4096];
    if (!tmpdir(dir, n, tag)) {
        CHECK(0, "mkdtemp");
        return -1;
    }
    snprintf(args, sizeof args, TINY " --steps %d --out %s", steps, dir);
    int rc = cli_run(args, out, sizeof out);
    CHECK(rc == 0, "the first run: %s", out);
    return rc ? -1 : 0;
}
static void rm_rf(const char *dir) {
    char cmd[9000];
    if (strncmp(dir, "/tmp/neurop-test-", 17)) return;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) {}
}
static char *slurp(const char *dir, const char *file) {
    char *p = path_join(dir, file);
    unsigned char *buf = NULL;
    size_t len;
    Err e;
    int rc = read_file(p, &buf, &len, &e);
    free(p);
    return rc ? NULL : (char *)buf;
}
static int same_file(const char *dir, const char *file, const char *before) {
    char *now = slurp(dir, file);
    int same = now && before && !strcmp(now, before); /* text files; checkpoints compared by length+bytes below */
    free(now);
    return same;
}
static long file_size(const char *dir, const char *file) {
    char *p = path_join(dir, file);
    struct stat st;
    long n = stat(p, &st) ? -1 : (long)st.st_size;
    free(p);
    return n;
}
static int same_bytes(const char *dir, const char *file, const unsigned char *b, size_t n) {
    char *p = path_join(dir, file);
    unsigned char *now = NULL;
    size_t len = 0;
    Err e;
    int ok = !read_file(p, &now, &len, &e) && len == n && !memcmp(now, b, n);
    free(p);
    free(now);
    return ok;
}
static int count_rows(const char *csv, long step) { /* rows of metrics.csv for step (all if step < 0) */
    int n = 0;
    for (const char *l = csv; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l))
        if (l[0] >= '0' && l[0] <= '9' && (step < 0 || strtol(l, NULL, 10) == step)) n++;
    return n;
}

TEST(run_folder_train_into_existing_run_refused_force_starts_over) {
    char dir[128], args[1024], out[4096];
    if (tiny_run(t_, dir, sizeof dir, "exist", 8)) return;
    char *csv = slurp(dir, "metrics.csv"), *cfg = slurp(dir, "config.txt");
    unsigned char *best = NULL;
    size_t nbest = 0;
    Err e;
    char *bp = path_join(dir, "best.safetensors");
    CHECK(!read_file(bp, &best, &nbest, &e), "%s", e.msg);
    free(bp);
    /* the same command again, and another seed: both refused, nothing touched */
    snprintf(args, sizeof args, TINY " --steps 8 --out %s", dir);
    int rc = cli_run(args, out, sizeof out);
    CHECK(rc == 1, "training into a finished run: exit %d, want 1 (%s)", rc, out);
    CHECK(strstr(out, dir) && strstr(out, "--resume") && strstr(out, "--force"), "the refusal: %s", out);
    snprintf(args, sizeof args, TINY " --steps 8 --seed 3 --out %s", dir);
    CHECK(cli_run(args, out, sizeof out) == 1, "another seed into the run: %s", out);
    CHECK(same_file(dir, "metrics.csv", csv) && same_file(dir, "config.txt", cfg),
          "a refused run changed metrics.csv or config.txt");
    CHECK(same_bytes(dir, "best.safetensors", best, nbest), "a refused run changed best.safetensors");
    /* --force: the old run is gone, the new one complete */
    snprintf(args, sizeof args, TINY " --steps 4 --seed 3 --force --out %s", dir);
    CHECK(cli_run(args, out, sizeof out) == 0, "--force: %s", out);
    char *csv2 = slurp(dir, "metrics.csv"), *cfg2 = slurp(dir, "config.txt");
    CHECK(csv2 && count_rows(csv2, -1) == 4 && count_rows(csv2, 8) == 0, "metrics.csv after --force:\n%s",
          csv2 ? csv2 : "(none)");
    CHECK(cfg2 && strstr(cfg2, "seed=3 steps=4"), "config.txt after --force: %s", cfg2 ? cfg2 : "(none)");
    snprintf(args, sizeof args, TINY " --resume --force --out %s", dir);
    CHECK(cli_run(args, out, sizeof out) == 2 && strstr(out, "give one"), "--resume with --force: %s", out);
    free(csv);
    free(cfg);
    free(csv2);
    free(cfg2);
    free(best);
    rm_rf(dir);
}

TEST(run_folder_resume_checks_the_run_and_extends_it) {
    char dir[128], args[1024], out[4096];
    if (tiny_run(t_, dir, sizeof dir, "resume", 4)) return;
    char *cfg = slurp(dir, "config.txt");
    long last_size = file_size(dir, "last.safetensors");
    /* another seed, method or setting is another run */
    const char *other[][2] = {
        {"--seed 3", "seed=0, not seed=3"}, {"--set lr=0.5", "lr="}, {"--set width=16", "width=8, not width=16"}};
    for (int i = 0; i < 3; i++) {
        snprintf(args, sizeof args, TINY " %s --resume --out %s", other[i][0], dir);
        int rc = cli_run(args, out, sizeof out);
        CHECK(rc == 1 && strstr(out, other[i][1]) && strstr(out, dir), "--resume %s: exit %d: %s", other[i][0], rc,
              out);
    }
    snprintf(args, sizeof args, "train --task addmod --method mlp --quiet --resume --out %s", dir);
    CHECK(cli_run(args, out, sizeof out) == 1 && strstr(out, "task=sumfirst, not task=addmod"),
          "--resume as another task: %s", out);
    CHECK(same_file(dir, "config.txt", cfg), "a refused resume changed config.txt");
    /* finished: says so, trains nothing */
    snprintf(args, sizeof args, "train --resume --out %s", dir); /* without --quiet: the message is the output */
    int rc = cli_run(args, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "already finished at step 4") && strstr(out, "--steps"),
          "resuming a finished run: exit %d: %s", rc, out);
    CHECK(file_size(dir, "last.safetensors") == last_size && same_file(dir, "config.txt", cfg),
          "a finished run changed");
    snprintf(args, sizeof args, "train --quiet --resume --steps 2 --out %s", dir);
    rc = cli_run(args, out, sizeof out);
    CHECK(rc == 1 && strstr(out, "shorten"), "--steps below the run's: exit %d: %s", rc, out);
    /* rows after the last checkpoint (as after a failed checkpoint write) are not kept twice */
    char *csvp = path_join(dir, "metrics.csv");
    FILE *f = fopen(csvp, "a");
    if (f) {
        fprintf(f, "5,9.99,0.001,0.5,1.00\n3,0.5");
        fclose(f);
    } /* and a row cut short */
    free(csvp);
    snprintf(args, sizeof args, "train --quiet --resume --steps 6 --out %s", dir);
    rc = cli_run(args, out, sizeof out);
    CHECK(rc == 0, "extending: exit %d: %s", rc, out);
    char *cfg2 = slurp(dir, "config.txt"), *csv = slurp(dir, "metrics.csv");
    CHECK(cfg2 && strstr(cfg2, " steps=6 "), "config.txt of the extended run: %s", cfg2 ? cfg2 : "(none)");
    CHECK(csv && count_rows(csv, 5) == 1 && count_rows(csv, 6) == 1 && !strstr(csv, "9.99") &&
              count_rows(csv, 4) == 1 && count_rows(csv, 3) == 1 && count_rows(csv, -1) == 6,
          "metrics.csv of the extended run:\n%s", csv ? csv : "(none)");
    /* nothing to resume: said, and no folder is made */
    snprintf(args, sizeof args, "train --quiet --resume --out %s/none", dir);
    rc = cli_run(args, out, sizeof out);
    char *none = path_join(dir, "none");
    struct stat st;
    CHECK(rc == 1 && strstr(out, "no such run folder") && stat(none, &st) != 0,
          "resuming a missing folder: exit %d: %s", rc, out);
    free(none);
    free(cfg);
    free(cfg2);
    free(csv);
    rm_rf(dir);
}

/* flock is per open file: a lock this process holds on DIR/lock refuses run_train as another
 * process's would. */
TEST(run_folder_second_trainer_refused_with_pid) {
    char dir[128], args[1024], out[4096];
    if (!tmpdir(dir, sizeof dir, "lock")) {
        CHECK(0, "mkdtemp");
        return;
    }
    char *lp = path_join(dir, "lock");
    int fd = open(lp, O_RDWR | O_CREAT, 0666);
    CHECK(fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0, "cannot take the lock");
    if (fd >= 0 && pwrite(fd, "424242\n", 7, 0) != 7) CHECK(0, "pwrite");
    snprintf(args, sizeof args, TINY " --steps 4 --out %s", dir);
    int rc = cli_run(args, out, sizeof out);
    CHECK(rc == 1 && strstr(out, "pid 424242") && strstr(out, dir), "a second trainer: exit %d: %s", rc, out);
    CHECK(file_size(dir, "config.txt") < 0 && file_size(dir, "metrics.csv") < 0,
          "the refused trainer wrote into the folder");
    if (fd >= 0) close(fd);
    rc = cli_run(args, out, sizeof out);
    CHECK(rc == 0, "after the holder ended: exit %d: %s", rc, out);
    char *pid = slurp(dir, "lock");
    CHECK(pid && atol(pid) > 0 && atol(pid) != 424242, "the lock file holds '%s', want the trainer's pid",
          pid ? pid : "");
    free(pid);
    free(lp);
    /* and a real second process: a trainer running in the folder (--force: the folder holds the
     * run above) refuses another with its pid */
    pid_t child = fork();
    if (child == 0) {
        int fd2 = open("/dev/null", O_WRONLY);
        dup2(fd2, 1);
        dup2(fd2, 2);
        execl(cli_bin(), "neurop", "train", "--task", "sumfirst", "--method", "gnn", "--set", "width=8", "--set",
              "rounds=1", "--steps", "100000000", "--force", "--out", dir, (char *)NULL);
        _exit(127);
    }
    char *cfgp = path_join(dir, "config.txt");
    for (int i = 0; i < 400; i++) { /* until the child has written its config */
        unsigned char *b = NULL;
        size_t n;
        Err e;
        int started = !read_file(cfgp, &b, &n, &e) && strstr((char *)b, "steps=100000000");
        free(b);
        if (started) break;
        usleep(10000);
    }
    snprintf(args, sizeof args, "train --resume --out %s", dir);
    rc = cli_run(args, out, sizeof out);
    char want[64];
    snprintf(want, sizeof want, "pid %ld)", (long)child);
    CHECK(rc == 1 && strstr(out, want), "a second trainer beside pid %ld: exit %d: %s", (long)child, rc, out);
    kill(child, SIGINT);
    int st = 0;
    waitpid(child, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 130, "the first trainer: status %d", st);
    free(cfgp);
    rm_rf(dir);
}

/* 1,400 characters of path: every file lands in exactly the folder named. */
TEST(run_folder_long_out_path_not_cut) {
    char base[128], out[4096];
    if (!tmpdir(base, sizeof base, "long")) {
        CHECK(0, "mkdtemp");
        return;
    }
    char dir[2048], args[3000];
    snprintf(dir, sizeof dir, "%s", base);
    for (int i = 0; i < 7; i++) {
        size_t n = strlen(dir);
        dir[n++] = '/';
        memset(dir + n, 'a' + i, 199);
        dir[n + 199] = 0;
        if (i < 6) mkdir(dir, 0755);
    }
    CHECK(strlen(dir) > 1400, "path of %zu", strlen(dir));
    snprintf(args, sizeof args, TINY " --steps 2 --out %s", dir);
    int rc = cli_run(args, out, sizeof out);
    CHECK(rc == 0, "exit %d: %s", rc, out);
    CHECK(file_size(dir, "last.safetensors") > 0 && file_size(dir, "best.safetensors") > 0 &&
              file_size(dir, "config.txt") > 0,
          "the run's files are not in the folder named");
    /* the commands that keep fixed buffers refuse such a path instead of cutting it */
    snprintf(args, sizeof args, "reproduce --tiny --tasks sumfirst --methods gnn --no-real --out %s/x", dir);
    rc = cli_run(args, out, sizeof out);
    CHECK(rc != 0 && strstr(out, "at most"), "reproduce with a long --out: exit %d: %.300s", rc, out);
    snprintf(args, sizeof args, "demo --out %s/x", dir);
    rc = cli_run(args, out, sizeof out);
    CHECK(rc == 2 && strstr(out, "at most"), "demo with a long --out: exit %d: %.300s", rc, out);
    rm_rf(base);
}

TEST(run_folder_stale_temp_files_removed) {
    char dir[128], args[1024], out[4096];
    if (tiny_run(t_, dir, sizeof dir, "stale", 2)) return;
    char *p = path_join(dir, "last.safetensors.tmp.99999"), *q = path_join(dir, "notes.tmp.1");
    FILE *f = fopen(p, "w");
    if (f) {
        fputs("half a checkpoint", f);
        fclose(f);
    }
    f = fopen(q, "w");
    if (f) {
        fputs("the user's", f);
        fclose(f);
    }
    snprintf(args, sizeof args, "train --quiet --resume --steps 3 --out %s", dir);
    CHECK(cli_run(args, out, sizeof out) == 0, "%s", out);
    struct stat st;
    CHECK(stat(p, &st) != 0, "the stale temporary file is still there");
    CHECK(stat(q, &st) == 0, "a file that is not the run's was removed");
    free(p);
    free(q);
    rm_rf(dir);
}

/* Ctrl-C before the first evaluation: no "accuracy -1 at step -1", and the way to go on. */
TEST(run_folder_interrupt_before_first_eval_says_how_to_resume) {
    char dir[128], out[4096];
    if (!tmpdir(dir, sizeof dir, "intr")) {
        CHECK(0, "mkdtemp");
        return;
    }
    char logp[200];
    snprintf(logp, sizeof logp, "%s.log", dir);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(fd, 1);
        dup2(fd, 2);
        execl(cli_bin(), "neurop", "train", "--task", "sumfirst", "--method", "gnn", "--set", "width=8", "--set",
              "rounds=1", "--set", "B=2", "--set", "N=8", "--steps", "100000000", "--set", "eval_every=100000000",
              "--out", dir, (char *)NULL);
        _exit(127);
    }
    /* the handler is installed once the loop runs: after metrics.csv exists, and a moment more */
    for (int i = 0; i < 400 && file_size(dir, "metrics.csv") < 0; i++) usleep(10000);
    usleep(200000);
    kill(pid, SIGINT);
    int st = 0;
    waitpid(pid, &st, 0);
    char *log = slurp("/", logp + 1);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 130, "exit status %d (signal %d), want 130",
          WIFEXITED(st) ? WEXITSTATUS(st) : -1, WIFSIGNALED(st) ? WTERMSIG(st) : 0);
    CHECK(log && strstr(log, "before the first evaluation") && strstr(log, "--resume --out") &&
              !strstr(log, "accuracy -1") &&
              !strstr(log, "at step -1"), /* not a bare "-1": the temporary folder's name may hold one */
          "the summary: %s", log ? log : "(none)");
    free(log);
    unlink(logp);
    rm_rf(dir);
    (void)out;
}

/* Commands that write a file next to a run cannot destroy it: synth -o refuses to overwrite
 * anything but a program (here the run's own best checkpoint), and eval --json writes valid
 * JSON atomically. */
TEST(run_folder_synth_and_eval_json_cannot_destroy_a_run) {
    char dir[128], args[1024], out[4096];
    if (tiny_run(t_, dir, sizeof dir, "synth", 2)) return;
    long best = file_size(dir, "best.safetensors");
    snprintf(args, sizeof args, "synth %s --intent n=4 -o %s/best.safetensors", dir, dir);
    int rc = cli_run(args, out, sizeof out);
    CHECK(rc == 1 && strstr(out, "not a neurop program; not overwriting"), "synth over a checkpoint: exit %d: %s", rc,
          out);
    CHECK(file_size(dir, "best.safetensors") == best, "the checkpoint changed");
    snprintf(args, sizeof args, "synth %s --intent n=4 -o %s/p.safetensors", dir, dir);
    CHECK(cli_run(args, out, sizeof out) == 0, "synth: %s", out);
    CHECK(cli_run(args, out, sizeof out) == 0, "synth over its own program: %s", out);
    snprintf(args, sizeof args, "eval %s --no-real --json %s/e.json", dir, dir);
    CHECK(cli_run(args, out, sizeof out) == 0, "eval: %s", out);
    char *j = slurp(dir, "e.json");
    cJSON *o = j ? cJSON_Parse(j) : NULL, *in = cJSON_GetObjectItem(o, "intents"),
          *sp = cJSON_GetObjectItem(o, "iid_split");
    CHECK(o && cJSON_GetArraySize(in) == 10 && cJSON_IsString(sp) && !strcmp(sp->valuestring, "test"), "e.json: %.300s",
          j ? j : "");
    cJSON_Delete(o);
    free(j);
    rm_rf(dir);
}

/* neurop info reads where training stands (last.safetensors), or best.safetensors where only that
 * was kept (a run copied or trimmed to what synthesis needs), and says which. */
TEST(run_folder_info_reads_best_where_last_is_gone) {
    char dir[128], args[1024], out[4096];
    if (tiny_run(t_, dir, sizeof dir, "info", 4)) return;
    snprintf(args, sizeof args, "info %s", dir);
    CHECK(cli_run(args, out, sizeof out) == 0 && strstr(out, "(last.safetensors)") && strstr(out, "trained    4 steps"),
          "info: %s", out);
    char *lp = path_join(dir, "last.safetensors");
    CHECK(unlink(lp) == 0, "unlink %s", lp);
    free(lp);
    CHECK(cli_run(args, out, sizeof out) == 0 && strstr(out, "(best.safetensors: there is no last.safetensors)"),
          "info without last: %s", out);
    rm_rf(dir);
    snprintf(args, sizeof args, "info %s", dir);
    CHECK(cli_run(args, out, sizeof out) == 1 && strstr(out, "no such run folder"), "info on nothing: %s", out);
}

/* best.safetensors is the evaluation with the highest IID-validation accuracy in metrics.csv,
 * not the first one (Meta-MLP on SUMFIRST improves at every one of these evaluations). */
TEST(run_folder_best_checkpoint_is_the_best_evaluation) {
    char dir[128], args[1024], out[4096];
    if (!tmpdir(dir, sizeof dir, "best")) {
        CHECK(0, "mkdtemp");
        return;
    }
    snprintf(args, sizeof args,
             "train --task sumfirst --method mlp --quiet --steps 600 --set eval_every=150 --set eval_n=64 --out %s",
             dir);
    CHECK(cli_run(args, out, sizeof out) == 0, "%s", out);
    char *csv = slurp(dir, "metrics.csv");
    double best = -1, first = -1;
    long best_step = -1;
    for (const char *l = csv; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : l + strlen(l)) {
        long step;
        double loss, lr, acc;
        if (sscanf(l, "%ld,%lf,%lf,%lf", &step, &loss, &lr, &acc) != 4) continue;
        if (first < 0) first = acc;
        if (acc > best) {
            best = acc;
            best_step = step;
        }
    }
    free(csv);
    CHECK(best > first, "validation accuracy never rose above the first evaluation's (%g): the test cannot tell",
          first);
    Run r;
    Err e;
    CHECK(run_open(&r, dir, "best", &e) == 0, "%s", e.msg);
    CHECK(r.best_step == best_step, "best.safetensors is from step %ld; metrics.csv's best is at step %ld", r.best_step,
          best_step);
    CHECK_NEAR(r.best_val, best, 1e-6);
    run_free(&r);
    rm_rf(dir);
}
