/** A faithful local emulator of the Azure Resource Manager API Management backend operations, over HTTPS. */
export { startArmEmulator } from './start-arm-emulator';
export type { ArmEmulator, ArmEmulatorOptions, BucketOptions, FaultSpec } from './types';
