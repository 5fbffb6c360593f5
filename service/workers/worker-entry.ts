/** Entry file of a data-plane worker thread run from the TypeScript sources (the bundle enters through main.ts). */
import { isDataPlaneWorkerThread, runDataPlaneWorkerThread } from './data-plane-worker';

if (isDataPlaneWorkerThread()) runDataPlaneWorkerThread();
