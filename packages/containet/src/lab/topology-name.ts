/**
 * The lab name a file gives, without checking the rest: inspect, exec and
 * destroy find a deployed lab by name, and must do so even after the file
 * was edited into something deploy would refuse (the record holds the plan).
 */
import { basename } from 'node:path';
import { SourceFile } from './yaml-source.js';

export function readTopologyName(file: string): string {
  const src = SourceFile.read(file, basename(file));
  const nameV = src.root.isMap() ? src.root.entries('a topology file').find(([k]) => k === 'name')?.[1] : undefined;
  if (!nameV) throw src.root.error('no `name`', 'give the lab a name: `name: mylab`');
  return nameV.string('a lab name');
}
