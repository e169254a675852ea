# A judge-style solution: `build/pyrunner run --stdin examples/input.txt examples/solution.py`
# Reads a count n, then n lines of integers; prints each line's sum, then the largest sum.
n = int(input())
sums = [sum(map(int, input().split())) for _ in range(n)]
for s in sums:
    print(s)
print("max", max(sums))
