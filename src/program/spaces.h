/* Internal to src/program: the neuron index spaces that the declared symmetries permute.
 * Every permutable tensor axis and node group runs over one of them; a symmetry is a choice
 * of permutation per space (identity for the spaces it leaves alone). */
#ifndef NEUROP_SPACES_H
#define NEUROP_SPACES_H

#define SP_NONE (-1)
#define SP_CH 0               /* Transformer residual channels (d) */
#define SP_Q(l) (1 + 4 * (l)) /* Q coordinates of layer l (head-major: h*dh + i) */
#define SP_K(l) (2 + 4 * (l))
#define SP_V(l) (3 + 4 * (l))
#define SP_M(l) (4 + 4 * (l)) /* MLP-block hidden units of Transformer layer l */
#define SP_HID(l) (l)         /* MLP template: hidden layer l */

#endif
