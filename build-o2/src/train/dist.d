build-o2/src/train/dist.o: src/train/dist.c src/train/dist.h
src/train/dist.h:
