build-o2/src/engine/err.o: src/engine/err.c src/engine/err.h
src/engine/err.h:
