export * from './store';
export { hashPassword, verifyPassword, generatePassword } from './password-hash';
