// A socket 'data' handler that calls back once per complete line, for the bench's light child processes (the
// swarm and the attacker), which load nothing of the programs' own.

export function lineSplitter(onLine: (line: string) => void): (d: Buffer) => void {
  let buf = '';
  return (d) => {
    buf += d.toString();
    let i: number;
    while ((i = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, i);
      buf = buf.slice(i + 1);
      if (l) onLine(l);
    }
  };
}
