# neurop reproduce: scaling study. Re-plot: cd into this folder, gnuplot scaling.gp
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 1200,460 noenhanced font ",10"
} else {
    set terminal png size 1200,460 noenhanced
}
set output "scaling.png"
set multiplot layout 1,2 title "SUMFIRST-n: the target's hidden width × m (full mode, 3 seeds; bars: ± std, min-max)"
set grid
set logscale x 2
set xrange [0.7:11.2]
set xtics ("×1" 1, "×2" 2, "×4" 4, "×8" 8)
set xlabel "width multiplier m of the target (hidden units × m)"
set key top right
set ylabel "OOD exact match"
set yrange [-0.02:1.05]
plot "scaling.dat" index 0 using 2:3:4 with yerrorlines lw 2 pt 5 lc rgb "#1f77b4" title "Meta-gMLP (mean ± std)", \
     "scaling_seeds.dat" index 0 using 1:2 with points pt 7 ps 0.6 lc rgb "#1f77b4" title "seeds", \
     "scaling.dat" index 1 using 2:3:4 with yerrorlines lw 2 pt 5 lc rgb "#d62728" title "Meta-GNN (mean ± std)", \
     "scaling_seeds.dat" index 1 using 1:2 with points pt 7 ps 0.6 lc rgb "#d62728" title "seeds"
set ylabel "training time per run (s)"
set autoscale y
set logscale y
plot "scaling.dat" index 0 using 2:5:6:7 with yerrorlines lw 2 pt 5 lc rgb "#1f77b4" title "Meta-gMLP", \
     "scaling.dat" index 1 using 2:5:6:7 with yerrorlines lw 2 pt 5 lc rgb "#d62728" title "Meta-GNN"
unset multiplot
