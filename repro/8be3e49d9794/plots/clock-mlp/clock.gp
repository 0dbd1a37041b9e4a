# neurop clock: the plot of clock_embed.dat and clock_pc1.dat. Re-plot: cd into this folder, gnuplot clock.gp
if (!exists("out")) out = "clock.png"
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 1300,560 noenhanced font ",10"
} else {
    set terminal png size 1300,560 noenhanced
}
set output out
set multiplot layout 1,2 title "ADDMOD clock (mlp, step 10800)"
set title "p = 83 (unseen): token embedding on PC1/PC2 (46% + 27% of the variance)\ndominant frequency k = 41 (99% of the power)\nin a*k mod p order: circularity 1.00, winding 1, largest gap 0.022 turn: a clock"
set size ratio -1
set grid
set xlabel "PC1"
set ylabel "PC2"
set palette rgbformulae 33,13,10
set cbrange [0:82]
set cblabel "a*k mod p"
plot "clock_embed.dat" using 3:4 with lines lc rgb "#c0c0c0" notitle, \
     "" every ::0::82 using 3:4:1 with points pt 7 ps 1.3 lc palette notitle, \
     "" every ::0::82 using 3:4:(sprintf("%d", $2)) with labels offset 0,0.7 font ",7" notitle
unset colorbox
set size noratio
set key top right
set title "PC1 of the flattened embed.weight per prime (59% of the variance)\n23.12*cos(6.225/p + 4.41): R2 = 0.637;  with offset: R2 = 0.705\npaper: 23.43*cos(5.672/p + 3.631), R2 > 0.94"
set xlabel "p"
set ylabel "PC1"
set xrange [0:100]
set autoscale y
plot "clock_pc1.dat" index 1 using 1:3 with lines lw 2 lc rgb "#1f77b4" title "A*cos(w/p + phi)", \
     "" index 1 using 1:4 with lines lw 1 dt 2 lc rgb "#2ca02c" title "A*cos(w/p + phi) + c", \
     "" index 0 using ($6 == 0 ? $1 : 1/0):3 with points pt 7 ps 1.1 lc rgb "#333333" title "train primes", \
     "" index 0 using ($6 == 1 ? $1 : 1/0):3 with points pt 9 ps 1.8 lc rgb "#d62728" title "OOD primes"
unset multiplot
