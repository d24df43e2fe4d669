// dcmjs ships no type declarations; main/dicom/dcmjs.ts is the only importer and gives its surface real types.
declare module 'dcmjs' {
  const dcmjs: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  export default dcmjs;
}
