// What the benchmark needs from a server process it started: wait until it is up, keep a
// bounded tail of its JSON log on stderr, and report warnings and exits.

/**
 * Follows `child`'s stderr until a log line containing `startedMarker` appears (or
 * `readyProbe()` resolves true), failing with the log tail if the process exits or the
 * deadline passes. Resolves to the handle the scenarios use.
 */
export async function watchServer(child, { name, startedMarker, stop, timeoutMs, readyProbe }) {
  const log = [];
  let logBytes = 0;
  let started = false;
  let partial = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (line.includes(startedMarker)) started = true;
      // Keep a bounded tail: a log flood during a run must not grow the runner's memory.
      log.push(line);
      logBytes += line.length;
      while (logBytes > 256 * 1024 && log.length > 1) logBytes -= log.shift().length;
    }
  });
  let exitInfo;
  // 'close' rather than 'exit': it comes after stderr is drained, so a startup error is complete.
  child.once('close', (code, signal) => (exitInfo = { code, signal }));

  const deadline = Date.now() + timeoutMs;
  while (!started) {
    if (exitInfo !== undefined) {
      await stop();
      throw new Error(`${name} exited during startup (code ${exitInfo.code}, signal ${exitInfo.signal}):\n${log.slice(-20).join('\n')}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${name} did not start within ${timeoutMs / 1000} s:\n${log.slice(-20).join('\n')}`);
    }
    if (readyProbe !== undefined && (await readyProbe())) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }

  return {
    pid: child.pid,
    child,
    get exited() {
      return exitInfo;
    },
    /** Log lines at warn or above, for the report: a clean run logs none. */
    problems() {
      return log.filter((line) => /"level":"(warn|error|fatal)"/.test(line));
    },
    /** The last line with this msg, parsed (e.g. "shipper closed", which carries final counts). */
    lastLog(msg) {
      const line = log.findLast((l) => l.includes(`"msg":${JSON.stringify(msg)}`));
      try {
        return line === undefined ? undefined : JSON.parse(line);
      } catch {
        return undefined;
      }
    },
    logTail(n = 20) {
      return log.slice(-n);
    },
    stop,
  };
}
