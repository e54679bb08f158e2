/** Where a run's checkpoints live and what their folders are called (no tfjs here: run references read these). */
export const CHECKPOINTS_DIR = 'checkpoints';
export const epochCheckpointName = (epoch: number) => `epoch-${String(epoch).padStart(4, '0')}`;
