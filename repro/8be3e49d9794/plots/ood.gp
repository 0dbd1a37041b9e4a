# neurop reproduce: OOD exact match per method and task. Re-plot: cd into this folder, gnuplot ood.gp
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 1340,460 noenhanced font ",10"
} else {
    set terminal png size 1340,460 noenhanced
}
set output "ood.png"
set multiplot layout 1,3 title "OOD exact match (full mode): dots = seeds, bars = mean ± std, x = the paper"
set grid ytics
set yrange [-0.02:1.15]
set ylabel "OOD exact match"
set key top center horizontal
set title "SUMFIRST-n"
set xrange [0.5:4.5]
plot "ood_summary.dat" index 0 using 1:2:3:xtic(8) with yerrorbars pt 5 ps 1.2 lw 2 lc rgb "#1f77b4" title "mean ± std", \
     "ood_seeds.dat" index 0 using 1:2 with points pt 7 ps 0.6 lc rgb "#555555" title "seeds", \
     "ood_summary.dat" index 0 using 4:7:5:6 with yerrorbars pt 2 ps 1.5 lw 2 lc rgb "#d62728" title "paper"
set title "ADDMOD-p"
set xrange [0.5:4.5]
plot "ood_summary.dat" index 1 using 1:2:3:xtic(8) with yerrorbars pt 5 ps 1.2 lw 2 lc rgb "#1f77b4" title "mean ± std", \
     "ood_seeds.dat" index 1 using 1:2 with points pt 7 ps 0.6 lc rgb "#555555" title "seeds", \
     "ood_summary.dat" index 1 using 4:7:5:6 with yerrorbars pt 2 ps 1.5 lw 2 lc rgb "#d62728" title "paper"
set title "1D-ARC mixed"
set xrange [0.5:4.5]
plot "ood_summary.dat" index 2 using 1:2:3:xtic(8) with yerrorbars pt 5 ps 1.2 lw 2 lc rgb "#1f77b4" title "mean ± std", \
     "ood_seeds.dat" index 2 using 1:2 with points pt 7 ps 0.6 lc rgb "#555555" title "seeds", \
     "ood_summary.dat" index 2 using 4:7:5:6 with yerrorbars pt 2 ps 1.5 lw 2 lc rgb "#d62728" title "paper"
unset multiplot
