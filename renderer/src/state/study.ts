/** The open study (null before one is opened). Opening one is open-study.ts's job. */
import { reactive } from 'vue';
import type { StudyView } from '../../../main/app/contract';

export const studyState = reactive({
  study: null as StudyView | null,
});
