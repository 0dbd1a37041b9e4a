build-o3/src/engine/cpu.o: src/engine/cpu.c src/engine/cpu.h
src/engine/cpu.h:
