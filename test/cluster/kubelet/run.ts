// Small helpers around `ip` and friends: throw with the command's own words when it fails.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export async function run(program: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync(program, args, { encoding: 'utf8' });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${program} ${args.join(' ')}: ${(e.stderr ?? '').trim() || e.message}`);
  }
}
