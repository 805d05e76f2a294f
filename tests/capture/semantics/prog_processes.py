import multiprocessing as mp
import subprocess
import sys
import threading


def square(x):
    return x * x


def worker(results, i):
    results.append(square(i))


def main():
    results = []
    threads = [threading.Thread(target=worker, args=(results, i)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(sorted(results))
    for method in ("fork", "spawn"):
        with mp.get_context(method).Pool(2) as pool:
            print(method, pool.map(square, range(5)))
    out = subprocess.run([sys.executable, "-c", "print('child', 6 * 7)"], capture_output=True, text=True)
    print(out.stdout.strip())


if __name__ == "__main__":
    main()
