/* See dist.h. The only file that includes mpi.h. */
#include "train/dist.h"
#include <stdio.h>
#include <stdlib.h>
#ifdef NEUROP_MPI
#include <mpi.h>
#include <time.h>

static int g_rank, g_size = 1, g_on, g_world = 1; /* g_rank, g_size: 0 and 1 once solo */

void dist_init(int *argc, char ***argv) {
    int done = 0;
    MPI_Initialized(&done);
    if (!done && MPI_Init(argc, argv) != MPI_SUCCESS) {
        fprintf(stderr, "neurop: MPI_Init failed\n");
        exit(1);
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &g_rank);
    MPI_Comm_size(MPI_COMM_WORLD, &g_size);
    g_world = g_size;
    g_on = 1;
}
void dist_finalize(void) {
    if (g_on) {
        g_on = 0;
        MPI_Finalize();
    }
}
int dist_rank(void) { return g_rank; }
int dist_size(void) { return g_size; }
void dist_solo(void) {
    g_rank = 0;
    g_size = 1;
}

void dist_allreduce_sum(float *x, long n) {
    if (g_size == 1) return;
    /* in chunks: MPI counts are ints */
    for (long o = 0; o < n; o += 1L << 30) {
        int k = (int)(n - o < (1L << 30) ? n - o : (1L << 30));
        if (MPI_Allreduce(MPI_IN_PLACE, x + o, k, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS) dist_abort(1);
    }
}
void dist_barrier(void) {
    if (g_size > 1) MPI_Barrier(MPI_COMM_WORLD);
}

void dist_abort(int code) {
    fflush(stdout);
    fflush(stderr);
    if (g_on && g_world > 1) MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}

void dist_send(int to, const void *buf, int n) {
    if (MPI_Send((void *)buf, n, MPI_BYTE, to, 0, MPI_COMM_WORLD) != MPI_SUCCESS) dist_abort(1);
}
int dist_recv_any(void *buf, int n) {
    MPI_Status st;
    int flag = 0;
    for (;;) {
        MPI_Iprobe(MPI_ANY_SOURCE, 0, MPI_COMM_WORLD, &flag, &st);
        if (flag) break;
        struct timespec ms = {0, 5000000};
        nanosleep(&ms, NULL);
    }
    int got = 0;
    MPI_Get_count(&st, MPI_BYTE, &got);
    if (got != n) {
        fprintf(stderr, "neurop: rank %d sent %d bytes, want %d\n", st.MPI_SOURCE, got, n);
        dist_abort(1);
    }
    if (MPI_Recv(buf, n, MPI_BYTE, st.MPI_SOURCE, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE) != MPI_SUCCESS) dist_abort(1);
    return st.MPI_SOURCE;
}

#else /* one rank */

void dist_init(int *argc, char ***argv) {
    (void)argc;
    (void)argv;
}
void dist_finalize(void) {}
int dist_rank(void) { return 0; }
int dist_size(void) { return 1; }
void dist_allreduce_sum(float *x, long n) {
    (void)x;
    (void)n;
}
void dist_barrier(void) {}
void dist_solo(void) {}
void dist_abort(int code) {
    fflush(stdout);
    fflush(stderr);
    exit(code);
}
void dist_send(int to, const void *buf, int n) {
    (void)to;
    (void)buf;
    (void)n;
    fprintf(stderr, "neurop: dist_send without MPI\n");
    exit(1);
}
int dist_recv_any(void *buf, int n) {
    (void)buf;
    (void)n;
    fprintf(stderr, "neurop: dist_recv_any without MPI\n");
    exit(1);
}
#endif
