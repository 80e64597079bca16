/**
 * The access keys every test stack configures on its frontends, and that every test client
 * signs with. Two accounts, so authorization between accounts can be tested.
 */
export interface TestCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly accountId: string;
}

export const TEST_REGION = 'us-east-1';

/** The default account's key: queues created in tests belong to account 000000000000. */
export const TEST_CREDENTIALS: TestCredentials = Object.freeze({
  accessKeyId: 'AKIACONVEYORTEST0001',
  secretAccessKey: 'conveyor/test/secret/0001/aaaaaaaaaaaaaa',
  accountId: '000000000000',
});

/** A second account, for cross-account authorization tests. */
export const OTHER_TEST_CREDENTIALS: TestCredentials = Object.freeze({
  accessKeyId: 'AKIACONVEYORTEST0002',
  secretAccessKey: 'conveyor/test/secret/0002/bbbbbbbbbbbbbb',
  accountId: '111111111111',
});
