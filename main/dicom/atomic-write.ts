/** Kept for importers of the original path: the one atomic writer lives in main/io/atomic.ts. */
export { writeFileAtomic } from '../io/atomic';
