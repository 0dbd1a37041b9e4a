/* Running gnuplot, the one plotting dependency (docs/reproduce.md): is it installed, run a script. */
#ifndef NEUROP_GNUPLOT_H
#define NEUROP_GNUPLOT_H

/* 1 when a gnuplot executable is on PATH. */
int gnuplot_installed(void);
/* gnuplot [-e SETTING] SCRIPT with dir as the working folder, its messages appended to
 * dir/gnuplot.log; setting may be NULL. 0 when gnuplot exited with status 0. */
int gnuplot_run(const char *dir, const char *script, const char *setting);
/* A printf format (width, height, width, height) that picks pngcairo when gnuplot has it, else png. */
extern const char *const gnuplot_png_terminal;

#endif
