/* The one door to MPI (docs/cluster.md). Built with -DNEUROP_MPI (make MPI=1: build-mpi/neurop)
 * these are thin calls on MPI_COMM_WORLD; without it they are the serial case of one rank, so
 * the rest of the code has no #ifdef and the default build needs no MPI at all.
 *
 * Every collective (dist_allreduce_sum, dist_barrier) must be called by every rank in the same
 * order; a rank that cannot go on calls dist_abort, which stops them all (never a hang). */
#ifndef NEUROP_DIST_H
#define NEUROP_DIST_H

/* Starts MPI (once, from main) when the binary has it; a no-op otherwise. */
void dist_init(int *argc, char ***argv);
/* Ends MPI cleanly (every rank, after its last collective). */
void dist_finalize(void);
int dist_rank(void); /* 0 .. dist_size()-1; 0 without MPI */
int dist_size(void); /* ranks in the job; 1 without MPI */
/* x[0..n) := the sum over ranks of x[0..n), in place, the same result on every rank. */
void dist_allreduce_sum(float *x, long n);
void dist_barrier(void);
/* Stops the whole job with exit status code: MPI_Abort with more than one rank (the others may
 * be waiting on this one), exit(code) otherwise. Never returns. */
void dist_abort(int code) __attribute__((noreturn));
/* From now on this rank works alone: dist_rank() is 0, dist_size() 1 and the collectives do
 * nothing, so a run trains in this process only (a worker of a distributed reproduction);
 * dist_send, dist_recv_any and dist_abort still reach the whole job. */
void dist_solo(void);
/* Point to point, for work queues: n bytes to rank `to`; from any rank into buf (exactly n bytes
 * expected), returning the sender. dist_recv_any sleeps between polls: a coordinator that waits
 * on long runs costs no CPU (a plain MPI_Recv spins). */
void dist_send(int to, const void *buf, int n);
int dist_recv_any(void *buf, int n);

#endif
