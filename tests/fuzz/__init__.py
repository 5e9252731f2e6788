"""Fuzzing harness: mutated zoo models through inspect, arena, convert and run --compare."""
