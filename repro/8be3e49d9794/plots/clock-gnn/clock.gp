# neurop clock: the plot of clock_embed.dat and clock_pc1.dat. Re-plot: cd into this folder, gnuplot clock.gp
if (!exists("out")) out = "clock.png"
if (strstrt(GPVAL_TERMINALS, "pngcairo") > 0) {
    set terminal pngcairo size 1300,560 noenhanced font ",10"
} else {
    set terminal png size 1300,560 noenhanced
}
set output out
set multiplot layout 1,2 title "ADDMOD clock (gnn, step 12000)"
set title "p = 83 (unseen): token embedding on PC1/PC2 (34% + 27% of the variance)\ndominant frequency k = 41 (98% of the power)\nin a*k mod p order: circularity 0.72, winding 1, largest gap 0.139 turn"
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
set title "PC1 of the flattened embed.weight per prime (74% of the variance)\n12.88*cos(5.52/p + 4.418): R2 = 0.854;  with offset: R2 = 0.901\npaper: 23.43*cos(5.672/p + 3.631), R2 > 0.94"
set xlabel "p"
set ylabel "PC1"
set xrange [0:100]
set autoscale y
plot "clock_pc1.dat" index 1 using 1:3 with lines lw 2 lc rgb "#1f77b4" title "A*cos(w/p + phi)", \
     "" index 1 using 1:4 with lines lw 1 dt 2 lc rgb "#2ca02c" title "A*cos(w/p + phi) + c", \
     "" index 0 using ($6 == 0 ? $1 : 1/0):3 with points pt 7 ps 1.1 lc rgb "#333333" title "train primes", \
     "" index 0 using ($6 == 1 ? $1 : 1/0):3 with points pt 9 ps 1.8 lc rgb "#d62728" title "OOD primes"
unset multiplot
