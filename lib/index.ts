export * from './formatter';
export * from './destination';
export * from './listener';
export * from './wireguard-peer';
export * from './gateway-props';
export * from './gateway-interface';
export * from './gateway';
export * from './packet-source';
