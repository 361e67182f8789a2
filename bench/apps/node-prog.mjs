// Prints its start time in ms as its first line, then idles.
console.log(`START ${Date.now()}`);
setInterval(() => {}, 1 << 30);
