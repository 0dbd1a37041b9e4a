build-o2n/src/io/gnuplot.o: src/io/gnuplot.c src/io/gnuplot.h
src/io/gnuplot.h:
