export {
  createExtensionHost,
  type ExtensionHost,
  type ExtensionHostOptions,
  type HandleOptions,
  MAX_RESPONSE_CONTENT_BYTES,
  ValidationFailedError,
} from './host.js';
export { isValidatorEvent, validatorToPreCreate } from './validator.js';
