build-o2/src/io/gnuplot.o: src/io/gnuplot.c src/io/gnuplot.h
src/io/gnuplot.h:
