// Prints its start time in µs since the epoch as its first line, then idles.
console.log(`START ${Math.round((performance.timeOrigin + performance.now()) * 1000)}`);
setInterval(() => {}, 1 << 30);
