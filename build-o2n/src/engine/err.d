build-o2n/src/engine/err.o: src/engine/err.c src/engine/err.h
src/engine/err.h:
