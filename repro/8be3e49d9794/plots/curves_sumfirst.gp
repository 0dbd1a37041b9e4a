# neurop reproduce: training curves of SUMFIRST-n. Re-plot: cd into this folder, gnuplot curves_sumfirst.gp
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 1200,460 noenhanced font ",10"
} else {
    set terminal png size 1200,460 noenhanced
}
set output "curves_sumfirst.png"
set multiplot layout 1,2 title "SUMFIRST-n: training (full mode; mean over seeds, bars: min-max)"
set grid
set key outside right top vertical
set xlabel "step"
set ylabel "training loss (mean since the previous evaluation)"
set logscale y
plot "curves_sumfirst.dat" index 0 using 1:2 with linespoints lw 2 title "direct", \
     "curves_sumfirst.dat" index 1 using 1:2 with linespoints lw 2 title "Meta-MLP", \
     "curves_sumfirst.dat" index 2 using 1:2 with linespoints lw 2 title "Meta-gMLP", \
     "curves_sumfirst.dat" index 3 using 1:2 with linespoints lw 2 title "Meta-GNN"
unset logscale y
set ylabel "IID-validation exact match"
set yrange [-0.02:1.02]
plot "curves_sumfirst.dat" index 0 using 1:3:4:5 with yerrorlines lw 2 title "direct", \
     "curves_sumfirst.dat" index 1 using 1:3:4:5 with yerrorlines lw 2 title "Meta-MLP", \
     "curves_sumfirst.dat" index 2 using 1:3:4:5 with yerrorlines lw 2 title "Meta-gMLP", \
     "curves_sumfirst.dat" index 3 using 1:3:4:5 with yerrorlines lw 2 title "Meta-GNN"
unset multiplot
