/** Stride-2 3x3 convolutions (stride-two-cases.ts) with the kernels this process chooses: native loops where they run. */
import { strideTwoTests } from './stride-two-cases';

strideTwoTests();
